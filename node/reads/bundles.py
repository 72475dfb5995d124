"""The learner's proof bundle, once anchored."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from anchoring.bundle.model import Inclusion
from anchoring.bundle.v1 import Anchor, ProofBundle
from anchoring.bundle.v2 import ProofBundle as BundleV2
from anchoring.chain.deployment import Deployment
from anchoring.scheme.digest import DigestRule
from anchoring.scheme.encoding import from_hex, to_hex
from node.errors import Conflict
from node.reads.dids import issuer_methods
from node.reads.lookup import lifecycle_state, load_credential, not_found
from node.storage.models import Batch, CredentialStatus, Issuer
from node.storage.trees import read_proof


def bundle_for(
    session: Session, digest: str, issuer_id: int, deployment: Callable[[], Deployment]
) -> dict[str, Any]:
    """The learner's proof bundle once anchored: ``credreg-bundle/2`` for a credential anchored under a current
    CredentialAnchor, ``credreg-bundle/1`` under a version-1 one (the deployment file's ``previous`` sets).

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
    assert cred.leaf_index is not None  # the sealer sets batch_id and leaf_index together
    assert batch.id is not None  # a stored batch
    proof = read_proof(
        session.connection(),
        batch_id=batch.id,
        size=batch.size,
        root=batch.root,
        leaf_index=cred.leaf_index,
        digest=cred.digest,
    )
    rule = DigestRule(cred.digest_rule) if cred.digest_rule else DigestRule.SALTED_JCS
    credential = plain_credential(cred.canonical, rule)
    return _make_bundle(
        credential=credential,
        rule=rule,
        salt=bytes(cred.salt) if rule == DigestRule.SALTED_JCS else None,
        digest=cred.digest,
        proof=[to_hex(h) for h in proof],
        root=batch.root,
        batch=batch,
        issuer=issuer,
        deployment=deployment(),
    )


def plain_credential(canonical: bytes, rule: DigestRule) -> dict[str, Any] | str:
    """The credential as issued: the JSON object, or a VC-JWT's compact string (rule compact)."""
    if rule == DigestRule.COMPACT:
        return bytes(canonical).decode("utf-8")
    loaded: dict[str, Any] = json.loads(bytes(canonical))
    return loaded


def _make_bundle(
    *,
    credential: dict[str, Any] | str,
    rule: DigestRule,
    salt: bytes | None,
    digest: str,
    proof: list[str],
    root: str,
    batch: Batch,
    issuer: Issuer,
    deployment: Deployment,
) -> dict[str, Any]:
    missing = [
        n
        for n, v in (
            ("chain_id", batch.chain_id),
            ("contract_address", batch.contract_address),
            ("tx_hash", batch.tx_hash),
            ("block_number", batch.block_number),
            ("block_timestamp", batch.block_timestamp),
        )
        if v is None
    ]
    if missing:
        raise Conflict(
            f"batch {batch.id} is confirmed but lacks {', '.join(missing)}; cannot build a bundle",
            [{"pointer": "", "field": "path.digest", "message": "anchor data incomplete"}],
            slug="not-anchored",
            title="Anchor incomplete",
        )
    contracts = deployment.set_for_anchor(str(batch.contract_address))
    if contracts is None:
        raise Conflict(
            f"batch {batch.id} was anchored in CredentialAnchor {batch.contract_address}, which this node's "
            "deployment file does not list (add it under `previous`)",
            [{"pointer": "", "field": "path.digest", "message": "contract not in the deployment file"}],
            slug="not-anchored",
            title="Anchor contract unknown",
        )
    assert batch.chain_id is not None and batch.tx_hash is not None and batch.block_number is not None
    assert batch.block_timestamp is not None and batch.contract_address is not None
    if contracts.major >= 2:
        inclusion = Inclusion(
            root=from_hex(root),
            proof=tuple(from_hex(p) for p in proof),
            chain_id=int(batch.chain_id),
            contract=batch.contract_address,
            contract_version=contracts.version,
            tx_hash=from_hex(batch.tx_hash),
            block_number=int(batch.block_number),
            issuer=issuer.address,
            anchored_at=int(batch.block_timestamp),
        )
        return BundleV2(
            credential=credential,
            digest_rule=rule,
            digest=from_hex(digest),
            inclusions=(inclusion,),
            salt=salt,
            # a did:web issuer's keys ride along, so the bundle verifies with no fetch (did:key needs none)
            verification_methods=tuple(issuer_methods(issuer)) if rule != DigestRule.SALTED_JCS else (),
        ).dump()
    if rule != DigestRule.SALTED_JCS or salt is None or not isinstance(credential, dict):
        raise Conflict(
            f"credential {digest} is signed (digest rule {rule.value}), which credreg-bundle/1 cannot carry",
            [
                {
                    "pointer": "",
                    "field": "path.digest",
                    "message": "signed credential under a version-1 contract",
                }
            ],
            slug="not-anchored",
            title="Bundle format",
        )
    anchor = Anchor(
        chain_id=int(batch.chain_id),
        contract=batch.contract_address,
        tx_hash=from_hex(batch.tx_hash),
        block_number=int(batch.block_number),
        issuer=issuer.address,
        anchored_at=int(batch.block_timestamp),
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


def plain_vc_for(session: Session, digest: str, issuer_id: int) -> dict[str, Any] | str:
    """The learner's credential as issued, without anchor evidence (what a wallet stores): the signed JSON VC,
    or a VC-JWT's compact string. Available from acceptance on (the signature needs no anchor); NotFound for
    unknown / other issuer's digests."""
    cred, _, _ = load_credential(session, digest)
    if cred.issuer_id != issuer_id:
        raise not_found(cred.digest)
    rule = DigestRule(cred.digest_rule) if cred.digest_rule else DigestRule.SALTED_JCS
    return plain_credential(cred.canonical, rule)
