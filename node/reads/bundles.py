"""The learner's proof bundle, once anchored."""

from __future__ import annotations

import json

from sqlmodel import Session

from anchoring.scheme.encoding import to_hex
from node.errors import Conflict
from node.reads.lookup import lifecycle_state, load_credential, not_found
from node.storage.models import Batch, CredentialStatus, Issuer
from node.storage.trees import load_tree


def bundle_for(session: Session, digest: str, issuer_id: int) -> dict:
    """The learner's proof bundle (format ``credreg-bundle/1``) once anchored.

    NotFound for unknown / other issuer's digests, Conflict before anchoring."""
    cred, batch, issuer = load_credential(session, digest)
    if cred.issuer_id != issuer_id:
        raise not_found(cred.digest)
    if cred.status != CredentialStatus.anchored.value or batch is None:
        raise Conflict(
            f"credential {cred.digest} is not yet anchored (state: {lifecycle_state(cred, batch)}); "
            "a bundle exists once its batch is confirmed on chain",
            [{"pointer": "", "field": "path.digest", "message": "not anchored yet"}],
            slug="not-anchored",
            title="Not yet anchored",
        )
    tree = load_tree(batch)
    assert cred.leaf_index is not None  # the sealer sets batch_id and leaf_index together
    proof = tree.proof_at(cred.leaf_index)
    credential = json.loads(bytes(cred.canonical))
    return _make_bundle(
        credential=credential,
        salt=bytes(cred.salt),
        digest=cred.digest,
        proof=[to_hex(h) for h in proof],
        root=batch.root,
        batch=batch,
        issuer=issuer,
    )


def _make_bundle(
    *, credential: dict, salt: bytes, digest: str, proof: list[str], root: str, batch: Batch, issuer: Issuer
) -> dict:
    from anchoring.bundle.v1 import Anchor, ProofBundle
    from anchoring.scheme.encoding import from_hex

    chain_id, contract, tx_hash = batch.chain_id, batch.contract_address, batch.tx_hash
    block_number, block_timestamp = batch.block_number, batch.block_timestamp
    if (
        chain_id is None
        or contract is None
        or tx_hash is None
        or block_number is None
        or block_timestamp is None
    ):
        missing = [
            n
            for n, v in (
                ("chain_id", chain_id),
                ("contract_address", contract),
                ("tx_hash", tx_hash),
                ("block_number", block_number),
                ("block_timestamp", block_timestamp),
            )
            if v is None
        ]
        raise Conflict(
            f"batch {batch.id} is confirmed but lacks {', '.join(missing)}; cannot build a bundle",
            [{"pointer": "", "field": "path.digest", "message": "anchor data incomplete"}],
            slug="not-anchored",
            title="Anchor incomplete",
        )
    anchor = Anchor(
        chain_id=int(chain_id),
        contract=contract,
        tx_hash=from_hex(tx_hash),
        block_number=int(block_number),
        issuer=issuer.address,
        anchored_at=int(block_timestamp),
    )
    pb = ProofBundle(
        credential=credential,
        salt=salt,
        digest=from_hex(digest),
        proof=tuple(from_hex(p) for p in proof),
        root=from_hex(root),
        anchor=anchor,
    )
    return pb.dump()
