"""Audit a node's database against the chain: every stored batch's root is recomputed from its stored
credential digests and checked against the CredentialAnchor (anchored, by the batch's issuer, with the same
leaf count) and the IssuerRegistry (the anchoring issuer was an active TI at anchoring time).

Regulators run it (``credreg audit``) against a copy of a node's database; it only reads.
Each check reports pass / fail / skip / error with a reason, never a bare boolean.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlmodel import col
from web3 import Web3

from anchoring.chain.contracts import CredentialAnchor, IssuerRegistry
from anchoring.chain.deployment import Deployment
from anchoring.errors import ChainError
from anchoring.scheme.encoding import from_hex, to_hex
from anchoring.scheme.merkle import MerkleTree
from anchoring.verify.trust import trusted_at_anchoring
from node.storage.models import Batch, BatchState, Credential, Issuer

__all__ = ["REPORT_FORMAT", "AuditReport", "BatchAudit", "Check", "audit_database"]

REPORT_FORMAT = "credreg-audit/1"
PASS, FAIL, SKIP, ERROR = "pass", "fail", "skip", "error"


@dataclass
class Check:
    name: str
    result: str
    reason: str

    def to_dict(self) -> dict:
        return {"result": self.result, "reason": self.reason}


@dataclass
class BatchAudit:
    batch_id: int
    root: str
    issuer: str | None
    state: str
    size: int
    stored_leaves: int = 0
    recomputed_root: str | None = None
    anchor: dict | None = None
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, result: str, reason: str) -> None:
        self.checks.append(Check(name, result, reason))

    @property
    def outcome(self) -> str:
        results = {c.result for c in self.checks}
        if FAIL in results:
            return FAIL
        if ERROR in results:
            return ERROR
        if any(c.name == "anchored" and c.result == SKIP for c in self.checks):
            return "pending"
        return PASS

    @property
    def failed_checks(self) -> list[str]:
        return [c.name for c in self.checks if c.result in (FAIL, ERROR)]

    def to_dict(self) -> dict:
        return {
            "batchId": self.batch_id,
            "root": self.root,
            "issuer": self.issuer,
            "state": self.state,
            "size": self.size,
            "storedLeaves": self.stored_leaves,
            "recomputedRoot": self.recomputed_root,
            "anchor": self.anchor,
            "outcome": self.outcome,
            "checks": {c.name: c.to_dict() for c in self.checks},
        }


@dataclass
class AuditReport:
    started_at: str
    finished_at: str | None
    deployment: Deployment
    database: str
    batches: list[BatchAudit] = field(default_factory=list)

    def counts(self) -> dict:
        out = {"batches": len(self.batches), PASS: 0, FAIL: 0, ERROR: 0, "pending": 0}
        for b in self.batches:
            out[b.outcome] += 1
        out["credentials"] = sum(b.stored_leaves for b in self.batches)
        return out

    @property
    def ok(self) -> bool:
        c = self.counts()
        return c[FAIL] == 0 and c[ERROR] == 0

    def to_dict(self) -> dict:
        return {
            "format": REPORT_FORMAT,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "result": PASS if self.ok else FAIL,
            "chain": {
                "chainId": self.deployment.chain_id,
                "issuerRegistry": self.deployment.issuer_registry,
                "credentialAnchor": self.deployment.credential_anchor,
            },
            "database": self.database,
            "auditor": {"tool": "credreg audit", "python": platform.python_version()},
            "summary": self.counts(),
            "batches": [b.to_dict() for b in self.batches],
        }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def safe_url(url: str) -> str:
    """The database URL without its password (for the report)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "(unparseable URL)"


def batch_ids(session_factory: sessionmaker) -> list[int]:
    with session_factory() as s:
        return list(s.execute(sa.select(col(Batch.id)).order_by(col(Batch.id))).scalars())


def audit_database(
    session_factory: sessionmaker,
    w3: Web3,
    deployment: Deployment,
    database_label: str = "",
    on_batch: Callable[[BatchAudit], None] | None = None,
) -> AuditReport:
    """Audit every stored batch; ``on_batch`` is called after each one (progress bars)."""
    report = AuditReport(_now(), None, deployment, database_label)
    anchor = CredentialAnchor(w3, deployment.credential_anchor)
    registry = IssuerRegistry(w3, deployment.issuer_registry)
    for batch_id in batch_ids(session_factory):
        with session_factory() as session:
            result = audit_batch(session, session.get(Batch, batch_id), anchor, registry)
        report.batches.append(result)
        if on_batch is not None:
            on_batch(result)
    report.finished_at = _now()
    return report


def audit_batch(
    session: Session, batch: Batch, anchor: CredentialAnchor, registry: IssuerRegistry
) -> BatchAudit:
    assert batch.id is not None, "a stored batch has its primary key"
    issuer = session.get(Issuer, batch.issuer_id)
    out = BatchAudit(batch.id, batch.root, issuer.address if issuer else None, batch.state, batch.size)
    rows = session.execute(
        sa.select(col(Credential.leaf_index), col(Credential.digest))
        .where(col(Credential.batch_id) == batch.id)
        .order_by(col(Credential.leaf_index), col(Credential.id))
    ).all()
    out.stored_leaves = len(rows)

    # 1. the stored leaves are complete: indexes 0..n-1, n == batch.size
    indexes = [r[0] for r in rows]
    if indexes != list(range(len(rows))):
        missing = sorted(set(range(batch.size)) - {i for i in indexes if i is not None})
        out.add(
            "leaves",
            FAIL,
            f"leaf indexes are not 0..{len(rows) - 1}"
            + (f"; missing {missing[:10]}" if missing else "; duplicates or gaps"),
        )
    elif len(rows) != batch.size:
        out.add("leaves", FAIL, f"{len(rows)} credentials stored, the batch says {batch.size}")
    else:
        out.add("leaves", PASS, f"{len(rows)} credentials with leaf indexes 0..{len(rows) - 1}")

    # 2. the root recomputed from the stored digests equals the stored root
    try:
        digests = [from_hex(r[1]) for r in rows]
        out.recomputed_root = to_hex(MerkleTree.build(digests).root) if digests else None
    except ValueError as exc:
        out.add("root", FAIL, f"a stored digest is malformed: {exc}")
    else:
        if out.recomputed_root == batch.root.lower():
            out.add("root", PASS, "the root recomputed from the stored digests equals the stored root")
        else:
            out.add(
                "root",
                FAIL,
                f"the stored digests give root {out.recomputed_root}, the batch says {batch.root}",
            )

    # 3. the stored tree (what proofs are served from) has the stored root
    try:
        tree_root = to_hex(MerkleTree.from_bytes(batch.tree).root)
        if tree_root == batch.root.lower():
            out.add("tree", PASS, "the stored tree's root equals the stored root")
        else:
            out.add("tree", FAIL, f"the stored tree's root is {tree_root}, the batch says {batch.root}")
    except Exception as exc:  # noqa: BLE001 - a damaged blob is a finding, not a crash
        out.add("tree", FAIL, f"the stored tree cannot be read: {exc}")

    # 4-7. against the chain
    try:
        _chain_checks(out, batch, anchor, registry)
    except (ChainError, OSError) as exc:
        out.add("anchored", ERROR, f"chain unreachable or failing: {exc}")
    return out


def _chain_checks(out: BatchAudit, batch: Batch, anchor: CredentialAnchor, registry: IssuerRegistry) -> None:
    try:
        root = from_hex(batch.root)
    except ValueError:
        out.add("anchored", FAIL, f"the stored root {batch.root!r} is not a 32-byte hex value")
        return
    if out.issuer is None:
        out.add("issuer", FAIL, "the batch's issuer row is missing")
        return
    issuer = Web3.to_checksum_address(out.issuer)
    record = anchor.anchor_of(issuer, root)
    if record is None and batch.tx_hash:
        others = [
            who for who, r, _ in anchor.anchors_in(from_hex(batch.tx_hash)) if r == root and who != issuer
        ]
        if others:  # the batch's own transaction anchored the root, in another issuer's namespace
            out.add(
                "issuer",
                FAIL,
                f"anchored by {others[0]} (transaction {batch.tx_hash}), the database says the "
                f"issuer is {issuer}",
            )
            return
    if record is None:
        if batch.state == BatchState.confirmed.value:
            out.add(
                "anchored",
                FAIL,
                f"the node says this batch is confirmed, but {issuer} never anchored the root on chain",
            )
        else:
            out.add("anchored", SKIP, f"not anchored yet (batch state {batch.state})")
        return
    out.add("anchored", PASS, f"anchored by {issuer} in block {record.block_number} at {record.anchored_at}")
    out.anchor = {"issuer": record.issuer, "anchoredAt": record.anchored_at, "block": record.block_number}
    out.add("issuer", PASS, f"anchored in the namespace of the batch's issuer {record.issuer}")

    event = anchor.anchored_event(issuer, root, record.block_number)
    if event is None:
        out.add("leafCount", ERROR, f"no Anchored event for the root in block {record.block_number}")
    else:
        leaf_count = int(event["args"]["leafCount"])
        out.anchor["leafCount"] = leaf_count
        out.anchor["tx"] = to_hex(bytes(event["transactionHash"]))
        if leaf_count == out.stored_leaves == batch.size:
            out.add("leafCount", PASS, f"{leaf_count} leaves on chain and in the database")
        else:
            out.add(
                "leafCount",
                FAIL,
                f"{leaf_count} leaves on chain, {out.stored_leaves} credentials stored, "
                f"batch size {batch.size}",
            )

    if batch.block_number is not None and batch.block_number != record.block_number:
        out.add(
            "block", FAIL, f"anchored in block {record.block_number}, the database says {batch.block_number}"
        )
    elif batch.block_number is not None:
        out.add("block", PASS, "the anchoring block matches the database")

    entry = registry.find_issuer(record.issuer)
    verdict = trusted_at_anchoring(entry, registry.history(record.issuer) if entry else [], record)
    if verdict.trusted:  # the verifier's rule (block order), so an audit and a verification never disagree
        out.add(
            "trusted",
            PASS,
            f"{record.issuer} was an active TI at anchoring time (block {record.block_number})",
        )
    else:
        out.add(
            "trusted",
            FAIL,
            f"{record.issuer} was not an active TI when block {record.block_number} was mined: "
            f"{verdict.reason}",
        )
