"""Audit a node's database against the chain (``credreg audit``; regulators run it on a copy; it only reads).

Four sections, each row reported pass / fail / pending / error with a reason that names the row:

* **batches**: every stored batch's root is recomputed from its stored credential digests and checked against the
  CredentialAnchor (anchored, by the batch's issuer, with the same leaf count, in the recorded block) and the
  IssuerRegistry (the anchoring issuer was an active TI when the block was mined: the verifier's rule,
  :func:`anchoring.verify.trust.trusted_at_anchoring`).
* **statusChanges**: every CredentialStatusChanged on chain for the node's issuers, under the node's roots, has its
  ``status_change`` row (same digest, status, reason code, transaction block) and every confirmed row has its
  event; each credential's confirmed status (``credential_status_state``) is the chain's last one.
* **statusLists**: each confirmed ``status_list_publication`` is the chain's StatusListPublished of that version
  (hash, block); the hash of the list the node would serve now equals the chain's hash of the version the node
  says is current. Changes not published yet are ``pending``, not failures.
* **registry**: the node's registry index equals the chain as of the index's own block: every ``registry_issuer``
  entry (kind, status, accreditor, DID, document hash, validity, scope) against ``getIssuer`` at that block, and
  every ``registry_event`` / ``registry_anchor`` / ``registry_credential_status`` row against its event (found by
  transaction and log index: each field and its block).

Events after the copy's *horizon* (the newest block it knows of) are the chain moving on after the copy was
taken: counted, never failures. Before any of it, :func:`check_copy_claims` refuses a copy whose indexer claims a
block the chain does not have (beyond the head, or with another hash), and :func:`inspect_sqlite_copy` a SQLite
file that is not self-contained (see its docstring).
"""

from __future__ import annotations

import platform
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlmodel import col
from web3 import Web3

from anchoring.chain.contracts import (
    ChainEvent,
    CredentialAnchor,
    CredentialStatus,
    IssuerRegistry,
    IssuerStatus,
)
from anchoring.chain.deployment import Deployment
from anchoring.errors import ChainError
from anchoring.scheme.encoding import from_hex, to_hex
from anchoring.scheme.merkle import MerkleTree
from anchoring.statuslist import list_hash, list_id
from anchoring.verify.trust import trusted_at_anchoring
from node.revocation.statuslists import encoded_list
from node.storage.models import Batch, BatchState, Credential, Issuer
from node.storage.registry_tables import (
    IndexerCursor,
    RegistryAnchor,
    RegistryCredentialStatus,
    RegistryEvent,
    RegistryIssuer,
)
from node.storage.revocation_tables import (
    ACTION_RESULT,
    ChangeState,
    CredentialStatusState,
    StatusChange,
    StatusList,
    StatusListPublication,
    StatusTx,
    TxState,
)

__all__ = [
    "REPORT_FORMAT",
    "AuditRefused",
    "AuditReport",
    "BatchAudit",
    "Check",
    "CopyInfo",
    "Finding",
    "Section",
    "audit_database",
    "check_copy_claims",
    "inspect_sqlite_copy",
    "readonly_sqlite_url",
]

REPORT_FORMAT = "credreg-audit/2"
PASS, FAIL, SKIP, ERROR, PENDING = "pass", "fail", "skip", "error", "pending"
SECTIONS = ("anchors", "statusChanges", "statusLists", "registry")

Progress = Callable[[str, int, int | None], None]  # (section, advance, total when known)


class AuditRefused(Exception):
    """The database cannot be audited as it is (exit 2): the message is one line saying why and what to do."""


# ------------------------------------------------------------------------------------------------- the copy
@dataclass(frozen=True)
class CopyInfo:
    kind: str  # sqlite | postgresql | other
    journal_mode: str | None = None  # sqlite: delete (rollback journal) | wal
    pages: int | None = None
    page_size: int | None = None

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "journalMode": self.journal_mode,
            "pages": self.pages,
            "pageSize": self.page_size,
        }


SQLITE_MAGIC = b"SQLite format 3\x00"


def inspect_sqlite_copy(path: Path) -> CopyInfo:
    """Refuse (``AuditRefused``) a SQLite file that is not a self-contained copy.

    What the files can and cannot tell (SQLite file format, sections 1.3 and 4): in WAL mode a committed
    transaction lives in ``<db>-wal`` until a checkpoint copies it into the database file; nothing in the database
    file records how many frames were still in the log. So a plain ``cp`` of a running node's file yields a file
    that looks whole, is as old as its last checkpoint, and may even be torn (copied while a checkpoint wrote it).
    What is reliable:

    * a ``-wal`` beside the file holding frames: transactions exist outside the file (a live database, or a copy
      taken with a log that must not be trusted to belong to it): refused;
    * a ``-shm`` beside it without its ``-wal``: the file was copied from a database in use, its log left behind:
      refused;
    * the header's write/read versions (bytes 18-19) say WAL mode: the file may depend on a log that was not
      copied (its last transactions missing, with no trace in the file): refused. ``credreg db backup`` switches
      its copies to rollback-journal mode (``PRAGMA journal_mode=DELETE``), so they are self-contained;
    * the header's page count (offset 28, valid when offset 92 equals the change counter at 24) differs from the
      file's size: a torn copy: refused.
    """
    try:
        with path.open("rb") as fh:
            header = fh.read(100)
        size = path.stat().st_size
    except FileNotFoundError:
        raise AuditRefused(f"{path}: no such database file") from None
    except OSError as exc:
        raise AuditRefused(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise AuditRefused(f"{path} is not a SQLite database")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    if wal.exists() and wal.stat().st_size > 32:
        frames = (wal.stat().st_size - 32) // (page_size + 24)
        raise AuditRefused(
            f"{path}: {wal.name} beside it holds {frames} write-ahead frames that are not in the database file (a "
            "live database, or a copy taken with its log); audit a consistent copy made by `credreg db backup`"
        )
    if shm.exists() and not wal.exists():
        raise AuditRefused(
            f"{path}: {shm.name} beside it but no {wal.name}: the file was copied from a database in use and its "
            "write-ahead log was left behind; make the copy with `credreg db backup`"
        )
    wal_mode = header[18] == 2 or header[19] == 2
    if wal_mode:
        raise AuditRefused(
            f"{path} is in WAL mode without its write-ahead log: a plain copy of a running node's file lacks the "
            "transactions since its last checkpoint, and nothing in the file says so; make the copy with "
            "`credreg db backup` (it works on a running node)"
        )
    change_counter, valid_for = header[24:28], header[92:96]
    pages = int.from_bytes(header[28:32], "big")
    if change_counter == valid_for and pages and pages * page_size != size:
        raise AuditRefused(
            f"{path} is torn: its header says {pages} pages of {page_size} bytes, the file holds {size} bytes; "
            "make the copy with `credreg db backup`"
        )
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise AuditRefused(f"{path}: SQLite cannot read it ({exc})") from None
    if check != "ok":
        raise AuditRefused(f"{path} is damaged (PRAGMA quick_check: {str(check)[:200]}); make a new copy")
    return CopyInfo("sqlite", "delete", size // page_size if page_size else None, page_size)


def readonly_sqlite_url(path: Path) -> str:
    """An URL that opens `path` read-only and immutable: the audit never writes to (or beside) the copy."""
    return f"sqlite:///{path.resolve().as_uri()}?mode=ro&immutable=1&uri=true"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases or an in-memory one)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database.removeprefix("file:").split("?", 1)[0]).expanduser()


@dataclass(frozen=True)
class Position:
    """How far the copy says it had followed the chain."""

    cursor_block: int | None
    cursor_hash: str | None
    horizon: int  # the newest block the copy knows anything about

    def to_dict(self) -> dict:
        return {
            "indexerBlock": self.cursor_block,
            "indexerBlockHash": self.cursor_hash,
            "horizon": self.horizon,
        }


def copy_position(session: Session, deployment: Deployment) -> Position:
    name = f"{deployment.chain_id}:{deployment.issuer_registry}:{deployment.credential_anchor}"
    cursor = session.get(IndexerCursor, name)
    highest = [deployment.deployment_block]
    for model in (Batch, StatusTx, StatusListPublication):
        value = session.execute(sa.select(sa.func.max(col(model.block_number)))).scalar()
        if value is not None:
            highest.append(int(value))
    if cursor is not None and cursor.last_block_hash is not None:
        highest.append(cursor.last_block)
        return Position(cursor.last_block, cursor.last_block_hash, max(highest))
    return Position(None, None, max(highest))


def check_copy_claims(w3: Web3, head: int, position: Position) -> None:
    """Refuse a copy that claims blocks the chain does not have: an indexer cursor (or a confirmed transaction)
    beyond the head, or a cursor block whose hash is not the chain's (another chain, or one reset since)."""
    if position.horizon > head:
        raise AuditRefused(
            f"the copy knows block {position.horizon} but the chain's head is {head}: it is from another chain (or "
            "one that was reset since); use the deployment and RPC endpoint of the network the node ran on"
        )
    if position.cursor_block is not None and position.cursor_hash is not None:
        chain_hash = to_hex(bytes(w3.eth.get_block(position.cursor_block)["hash"]))
        if chain_hash != position.cursor_hash.lower():
            raise AuditRefused(
                f"the copy's indexer stopped at block {position.cursor_block} with hash {position.cursor_hash}, the "
                f"chain has {chain_hash} there: the copy follows another chain (or a re-org replaced that block)"
            )


# ------------------------------------------------------------------------------------------------- results
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
            return PENDING
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


@dataclass(frozen=True)
class Finding:
    """One audited row (or one chain event without its row): ``row`` names it as a regulator would look it up."""

    row: str
    result: str  # pass | fail | pending | error
    reason: str

    def to_dict(self) -> dict:
        return {"row": self.row, "result": self.result, "reason": self.reason}


@dataclass
class Section:
    name: str
    findings: list[Finding] = field(default_factory=list)
    after_copy: int = 0  # chain events newer than the copy (not compared)
    note: str | None = None

    def add(self, row: str, result: str, reason: str) -> None:
        self.findings.append(Finding(row, result, reason))

    def counts(self) -> dict:
        out = {
            "checked": len(self.findings),
            PASS: 0,
            FAIL: 0,
            PENDING: 0,
            ERROR: 0,
            "afterCopy": self.after_copy,
        }
        for f in self.findings:
            out[f.result] += 1
        return out

    @property
    def ok(self) -> bool:
        c = self.counts()
        return c[FAIL] == 0 and c[ERROR] == 0

    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.result in (FAIL, ERROR, PENDING)]

    def to_dict(self, *, passing: bool = True) -> dict:
        items = self.findings if passing else self.problems()
        return {
            "summary": self.counts(),
            "note": self.note,
            "items": [f.to_dict() for f in items],
        }


@dataclass
class AuditReport:
    started_at: str
    finished_at: str | None
    deployment: Deployment
    database: str
    head: int = 0
    position: Position | None = None
    copy: CopyInfo | None = None
    batches: list[BatchAudit] = field(default_factory=list)
    sections: dict[str, Section] = field(default_factory=dict)

    def counts(self) -> dict:
        out = {"batches": len(self.batches), PASS: 0, FAIL: 0, ERROR: 0, PENDING: 0}
        for b in self.batches:
            out[b.outcome] += 1
        out["credentials"] = sum(b.stored_leaves for b in self.batches)
        return out

    @property
    def ok(self) -> bool:
        c = self.counts()
        return c[FAIL] == 0 and c[ERROR] == 0 and all(s.ok for s in self.sections.values())

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
                "head": self.head,
            },
            "database": self.database,
            "copy": self.copy.to_dict() if self.copy else None,
            "position": self.position.to_dict() if self.position else None,
            "auditor": {"tool": "credreg audit", "python": platform.python_version()},
            "summary": {
                **self.counts(),
                **{name: s.counts() for name, s in self.sections.items()},
            },
            "batches": [b.to_dict() for b in self.batches],
            **{name: s.to_dict(passing=name != "registry") for name, s in self.sections.items()},
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


def _hexa(value: Any) -> str:
    return to_hex(bytes(value))


def _addr(value: Any) -> str | None:
    if value is None or int(str(value), 16) == 0:
        return None
    return Web3.to_checksum_address(str(value))


def _event_row(ev: ChainEvent) -> str:
    return f"chain event {ev.name} (tx {_hexa(ev.tx_hash)}, log {ev.log_index}, block {ev.block_number})"


# ------------------------------------------------------------------------------------------------- the audit
def audit_database(
    session_factory: sessionmaker,
    w3: Web3,
    deployment: Deployment,
    database_label: str = "",
    on_batch: Callable[[BatchAudit], None] | None = None,
    *,
    head: int | None = None,
    copy: CopyInfo | None = None,
    progress: Progress | None = None,
) -> AuditReport:
    """Audit every stored batch (``on_batch`` after each one), then the status changes, status lists and the
    registry index (``progress(section, advance, total)``). Chain failures become ``error`` findings."""
    report = AuditReport(_now(), None, deployment, database_label, copy=copy)
    anchor = CredentialAnchor(w3, deployment.credential_anchor)
    registry = IssuerRegistry(w3, deployment.issuer_registry)
    report.head = head if head is not None else int(w3.eth.block_number)
    with session_factory() as session:
        report.position = copy_position(session, deployment)
    for batch_id in batch_ids(session_factory):
        with session_factory() as session:
            batch = session.get(Batch, batch_id)
            assert batch is not None, "listed a moment ago, in a database nobody writes to"
            result = audit_batch(session, batch, anchor, registry)
        report.batches.append(result)
        if on_batch is not None:
            on_batch(result)
    step = progress or (lambda _section, _n, _total: None)
    for name, run in (
        ("anchors", audit_anchors),
        ("statusChanges", audit_status_changes),
        ("statusLists", audit_status_lists),
        ("registry", audit_registry_index),
    ):
        section = Section(name)
        try:
            with session_factory() as session:
                run(session, section, anchor, registry, deployment, report, step)
        except (ChainError, OSError) as exc:
            section.add("(chain)", ERROR, f"chain unreachable or failing: {exc}")
        report.sections[name] = section
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

    if batch.state == BatchState.resealed.value:
        _superseded(session, out, batch, rows)
        return out

    # 1. the stored leaves are complete: indexes 0..n-1, n == the batch's credentials
    expected = batch.credential_count
    indexes = [r[0] for r in rows]
    if indexes != list(range(len(rows))):
        missing = sorted(set(range(expected)) - {i for i in indexes if i is not None})
        out.add(
            "leaves",
            FAIL,
            f"leaf indexes are not 0..{len(rows) - 1}"
            + (f"; missing {missing[:10]}" if missing else "; duplicates or gaps"),
        )
    elif len(rows) != expected:
        out.add("leaves", FAIL, f"{len(rows)} credentials stored, the batch says {expected}")
    else:
        extra = " and its nonce leaf" if batch.nonce_leaf else ""
        out.add("leaves", PASS, f"{len(rows)} credentials with leaf indexes 0..{len(rows) - 1}{extra}")

    # 2. the root recomputed from the stored digests (and a re-sealed batch's nonce leaf) equals the stored root
    try:
        digests = [from_hex(r[1]) for r in rows] + ([from_hex(batch.nonce_leaf)] if batch.nonce_leaf else [])
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

    _tree_check(out, batch)

    # 4-7. against the chain
    try:
        _chain_checks(out, batch, anchor, registry)
    except (ChainError, OSError) as exc:
        out.add("anchored", ERROR, f"chain unreachable or failing: {exc}")
    return out


def _tree_check(out: BatchAudit, batch: Batch) -> None:
    """The stored tree (what proofs are served from) has the stored root."""
    try:
        tree_root = to_hex(MerkleTree.from_bytes(batch.tree).root)
        if tree_root == batch.root.lower():
            out.add("tree", PASS, "the stored tree's root equals the stored root")
        else:
            out.add("tree", FAIL, f"the stored tree's root is {tree_root}, the batch says {batch.root}")
    except Exception as exc:  # noqa: BLE001 - a damaged blob is a finding, not a crash
        out.add("tree", FAIL, f"the stored tree cannot be read: {exc}")


def _superseded(session: Session, out: BatchAudit, batch: Batch, rows: Sequence[Any]) -> None:
    """A batch re-sealed after a failure: its credentials must all be in its successor, none left behind."""
    _tree_check(out, batch)
    successor = session.get(Batch, batch.superseded_by) if batch.superseded_by is not None else None
    if rows:
        out.add("superseded", FAIL, f"re-sealed, yet {len(rows)} credentials still point at it")
    elif successor is None:
        out.add("superseded", FAIL, f"re-sealed into batch {batch.superseded_by}, which does not exist")
    else:
        try:
            old = set(MerkleTree.from_bytes(batch.tree).digests)
            new = set(MerkleTree.from_bytes(successor.tree).digests)
        except Exception as exc:  # noqa: BLE001
            out.add("superseded", FAIL, f"a tree cannot be read: {exc}")
            return
        if old <= new:
            out.add("superseded", PASS, f"re-sealed: its {len(old)} credentials are in batch {successor.id}")
        else:
            out.add("superseded", FAIL, f"batch {successor.id} lacks {len(old - new)} of its credentials")


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
        if leaf_count == batch.size and out.stored_leaves == batch.credential_count:
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


# ----------------------------------------------------------------------------------------- anchors
def audit_anchors(
    session: Session,
    section: Section,
    anchor: CredentialAnchor,
    registry: IssuerRegistry,
    deployment: Deployment,
    report: AuditReport,
    step: Progress,
) -> None:
    """The other direction of the batch checks: every root the node's issuers anchored on chain (up to the copy's
    horizon) is a batch of the node; a deleted or forgotten batch shows here, never in the batch table."""
    issuers = _node_issuers(session)
    horizon = report.position.horizon if report.position else report.head
    batches = {
        (issuers.get(b.issuer_id), b.root.lower()): b.id for b in session.execute(sa.select(Batch)).scalars()
    }
    events = anchor.events(["Anchored"], deployment.deployment_block, report.head, list(issuers.values()))
    step("anchors", 0, len(events))
    for ev in events:
        step("anchors", 1, None)
        key = (Web3.to_checksum_address(ev.args["issuer"]), _hexa(ev.args["root"]))
        if key in batches:
            section.add(
                f"batch {batches[key]}", PASS, f"its root is anchored by {key[0]} in block {ev.block_number}"
            )
        elif ev.block_number > horizon:
            section.after_copy += 1
        else:
            section.add(
                _event_row(ev),
                FAIL,
                f"{key[0]} anchored root {key[1]} ({int(ev.args['leafCount'])} leaves): the node has no batch for it",
            )


# ----------------------------------------------------------------------------------------- status changes
def _node_issuers(session: Session) -> dict[int, str]:
    return {
        int(i.id): Web3.to_checksum_address(i.address)
        for i in session.execute(sa.select(Issuer)).scalars()
        if i.id is not None
    }


def audit_status_changes(
    session: Session,
    section: Section,
    anchor: CredentialAnchor,
    registry: IssuerRegistry,
    deployment: Deployment,
    report: AuditReport,
    step: Progress,
) -> None:
    issuers = _node_issuers(session)
    horizon = report.position.horizon if report.position else report.head
    roots: dict[tuple[str, str], int] = {}  # (issuer, root) -> batch id
    for b in session.execute(sa.select(Batch)).scalars():
        if b.issuer_id in issuers and b.id is not None:
            roots[(issuers[b.issuer_id], b.root.lower())] = b.id
    events = [
        ev
        for ev in anchor.events(
            ["CredentialStatusChanged"], deployment.deployment_block, report.head, list(issuers.values())
        )
        if (Web3.to_checksum_address(ev.args["issuer"]), _hexa(ev.args["root"])) in roots
    ]
    rows = session.execute(
        sa.select(StatusChange, StatusTx)
        .outerjoin(StatusTx, col(StatusTx.id) == col(StatusChange.tx_id))
        .where(col(StatusChange.state) == ChangeState.confirmed.value)
        .order_by(col(StatusChange.id))
    ).all()
    step("statusChanges", 0, len(rows) + len(events))
    by_tx: dict[tuple[str, str], ChainEvent] = {
        (_hexa(ev.tx_hash), _hexa(ev.args["digest"])): ev for ev in events
    }
    matched: set[int] = set()
    loose: list[tuple[StatusChange, StatusTx | None]] = []
    for ch, tx in rows:
        name = f"status_change {ch.id} ({ch.action} of {ch.digest})"
        ev = by_tx.get((tx.tx_hash.lower(), ch.digest.lower())) if tx is not None and tx.tx_hash else None
        if ev is None:
            loose.append((ch, tx))
            continue
        matched.add(id(ev))
        _compare_change(section, name, ch, tx, ev, issuers)
        step("statusChanges", 1, None)
    # confirmed from chain state (no receipt of ours), or a transaction the chain never had
    for ch, loose_tx in loose:
        name = f"status_change {ch.id} ({ch.action} of {ch.digest})"
        wanted = ACTION_RESULT[ch.action]
        candidates = [
            ev
            for ev in events
            if id(ev) not in matched
            and _hexa(ev.args["digest"]) == ch.digest.lower()
            and CredentialStatus(int(ev.args["status"])).label == wanted
        ]
        if candidates and (loose_tx is None or loose_tx.block_number is None):
            matched.add(id(candidates[0]))
            _compare_change(section, name, ch, loose_tx, candidates[0], issuers)
        else:
            where = f" in transaction {loose_tx.tx_hash}" if loose_tx is not None and loose_tx.tx_hash else ""
            section.add(name, FAIL, f"the node says it is confirmed{where}, but the chain has no such event")
        step("statusChanges", 1, None)
    for ev in events:
        if id(ev) in matched:
            continue
        step("statusChanges", 1, None)
        if ev.block_number > horizon:
            section.after_copy += 1
            continue
        status = CredentialStatus(int(ev.args["status"])).label
        section.add(
            _event_row(ev),
            FAIL,
            f"{status} (reason {int(ev.args['reason'])}) of digest {_hexa(ev.args['digest'])} under root "
            f"{_hexa(ev.args['root'])} by {ev.args['issuer']}: no status_change row in the node",
        )
    # each credential's confirmed status is the chain's last one (up to the copy's horizon)
    last: dict[str, ChainEvent] = {}
    for ev in events:
        if ev.block_number <= horizon:
            last[_hexa(ev.args["digest"])] = ev
    for st in session.execute(sa.select(CredentialStatusState)).scalars():
        newest = last.get(st.digest.lower())
        chain_status = CredentialStatus(int(newest.args["status"])).label if newest else "valid"
        chain_reason = int(newest.args["reason"]) if newest else 0
        name = f"credential_status_state {st.digest}"
        if (st.confirmed, st.confirmed_reason) == (chain_status, chain_reason):
            section.add(name, PASS, f"confirmed {st.confirmed}, as on chain")
        else:
            section.add(
                name,
                FAIL,
                f"the node says {st.confirmed} (reason {st.confirmed_reason}), the chain {chain_status} "
                f"(reason {chain_reason})",
            )


def _compare_change(
    section: Section,
    name: str,
    ch: StatusChange,
    tx: StatusTx | None,
    ev: ChainEvent,
    issuers: dict[int, str],
) -> None:
    problems = []
    status = CredentialStatus(int(ev.args["status"])).label
    if ACTION_RESULT[ch.action] != status:
        problems.append(f"status {ACTION_RESULT[ch.action]} in the node, {status} on chain")
    if int(ch.reason) != int(ev.args["reason"]):
        problems.append(f"reason {ch.reason} in the node, {int(ev.args['reason'])} on chain")
    if ch.root.lower() != _hexa(ev.args["root"]):
        problems.append(f"root {ch.root} in the node, {_hexa(ev.args['root'])} on chain")
    issuer = issuers.get(ch.issuer_id)
    if issuer != Web3.to_checksum_address(ev.args["issuer"]):
        problems.append(f"issuer {issuer} in the node, {ev.args['issuer']} on chain")
    if tx is not None and tx.block_number is not None and tx.block_number != ev.block_number:
        problems.append(
            f"block {tx.block_number} in the node (status_tx {tx.id}), {ev.block_number} on chain"
        )
    if tx is not None and tx.block_hash and tx.block_hash.lower() != _hexa(ev.block_hash):
        problems.append(f"block hash {tx.block_hash} in the node, {_hexa(ev.block_hash)} on chain")
    if problems:
        section.add(name, FAIL, "; ".join(problems))
    else:
        where = f"block {ev.block_number}, tx {_hexa(ev.tx_hash)}"
        section.add(name, PASS, f"{status} (reason {ch.reason}) as on chain ({where})")


# ----------------------------------------------------------------------------------------- status lists
def audit_status_lists(
    session: Session,
    section: Section,
    anchor: CredentialAnchor,
    registry: IssuerRegistry,
    deployment: Deployment,
    report: AuditReport,
    step: Progress,
) -> None:
    issuers = _node_issuers(session)
    horizon = report.position.horizon if report.position else report.head
    lists = list(session.execute(sa.select(StatusList).order_by(col(StatusList.id))).scalars())
    step("statusLists", 0, len(lists))
    events: dict[tuple[str, str], dict[int, ChainEvent]] = {}
    for ev in anchor.events(
        ["StatusListPublished"], deployment.deployment_block, report.head, list(issuers.values())
    ):
        key = (Web3.to_checksum_address(ev.args["issuer"]), _hexa(ev.args["listId"]))
        events.setdefault(key, {})[int(ev.args["version"])] = ev
    for lst in lists:
        issuer = issuers.get(lst.issuer_id)
        on_chain = events.get((issuer or "", to_hex(list_id(lst.url))), {})
        pubs = list(
            session.execute(
                sa.select(StatusListPublication)
                .where(
                    col(StatusListPublication.list_id) == lst.id,
                    col(StatusListPublication.state) == TxState.confirmed.value,
                )
                .order_by(col(StatusListPublication.id))
            ).scalars()
        )
        known = set()
        for pub in pubs:
            name = f"status_list_publication {pub.id} (list {lst.id}, {lst.purpose}, version {pub.version})"
            published = on_chain.get(int(pub.version)) if pub.version is not None else None
            if published is None:
                section.add(
                    name, FAIL, "confirmed in the node, but the chain has no StatusListPublished of it"
                )
                continue
            known.add(int(pub.version or 0))
            problems = []
            if _hexa(published.args["listHash"]) != pub.list_hash.lower():
                problems.append(
                    f"hash {pub.list_hash} in the node, {_hexa(published.args['listHash'])} on chain"
                )
            if pub.block_number is not None and pub.block_number != published.block_number:
                problems.append(f"block {pub.block_number} in the node, {published.block_number} on chain")
            if problems:
                section.add(name, FAIL, "; ".join(problems))
            else:
                section.add(name, PASS, f"hash and block {published.block_number} as on chain")
        for version, ev in sorted(on_chain.items()):
            if version in known:
                continue
            if ev.block_number > horizon:
                section.after_copy += 1
            else:
                section.add(
                    _event_row(ev),
                    FAIL,
                    f"version {version} of status list {lst.id} ({lst.purpose}) is on chain, the node has no "
                    "publication row for it",
                )
        _compare_served(session, section, lst, on_chain)
        step("statusLists", 1, None)


def _compare_served(
    session: Session, section: Section, lst: StatusList, on_chain: dict[int, ChainEvent]
) -> None:
    """The list the node would serve now, against the chain's hash of the version the node says is current."""
    name = f"status_list {lst.id} ({lst.purpose}, {lst.url})"
    served = to_hex(list_hash(encoded_list(cast(Any, session), lst)))
    if lst.published_version is None:
        if lst.revision:
            section.add(name, PENDING, f"{lst.revision} changes, none published yet")
        else:
            section.add(name, PASS, "no change yet: nothing to publish")
        return
    ev = on_chain.get(int(lst.published_version))
    if ev is None:
        section.add(
            name,
            FAIL,
            f"the node says version {lst.published_version} is on chain; the chain has no such version",
        )
        return
    chain_hash = _hexa(ev.args["listHash"])
    if lst.published_hash is None or lst.published_hash.lower() != chain_hash:
        section.add(
            name,
            FAIL,
            f"the node says version {lst.published_version} has hash {lst.published_hash}, the chain {chain_hash}",
        )
    elif lst.revision == lst.published_revision:
        if served == chain_hash:
            section.add(
                name, PASS, f"the list it serves hashes to version {lst.published_version}'s on-chain hash"
            )
        else:
            section.add(
                name,
                FAIL,
                f"the list it serves hashes to {served}, the chain's version {lst.published_version} is {chain_hash} "
                "(its bits differ from what was published)",
            )
    else:
        behind = (lst.revision or 0) - (lst.published_revision or 0)
        section.add(
            name,
            PENDING,
            f"{behind} changes not published yet (revision {lst.revision}, published {lst.published_revision})",
        )


# ----------------------------------------------------------------------------------------- registry index
def audit_registry_index(
    session: Session,
    section: Section,
    anchor: CredentialAnchor,
    registry: IssuerRegistry,
    deployment: Deployment,
    report: AuditReport,
    step: Progress,
) -> None:
    position = report.position
    if position is None or position.cursor_block is None:
        section.note = (
            "the node has no registry index for this deployment (its indexer never ran): nothing to compare"
        )
        return
    block = position.cursor_block
    section.note = f"compared with the chain as of block {block}, where the node's indexer stopped"
    start = deployment.deployment_block
    reg_events = registry.events(["IssuerAccredited", "IssuerStatusChanged"], start, block)
    anchor_events = anchor.events(["Anchored", "CredentialStatusChanged"], start, block)
    entries = list(session.execute(sa.select(RegistryIssuer).order_by(col(RegistryIssuer.address))).scalars())
    step("registry", 0, len(reg_events) + len(anchor_events) + len(entries))
    _compare_rows(
        section,
        "registry_event",
        list(session.execute(sa.select(RegistryEvent)).scalars()),
        reg_events,
        _registry_event_fields,
        block,
        step,
    )
    _compare_rows(
        section,
        "registry_anchor",
        list(session.execute(sa.select(RegistryAnchor)).scalars()),
        [e for e in anchor_events if e.name == "Anchored"],
        _anchor_fields,
        block,
        step,
    )
    _compare_rows(
        section,
        "registry_credential_status",
        list(session.execute(sa.select(RegistryCredentialStatus)).scalars()),
        [e for e in anchor_events if e.name == "CredentialStatusChanged"],
        _credential_status_fields,
        block,
        step,
    )
    indexed = set()
    for row in entries:
        indexed.add(row.address)
        name = f"registry_issuer {row.address}"
        entry = registry.find_issuer(row.address, block=block)
        step("registry", 1, None)
        if entry is None:
            section.add(name, FAIL, f"indexed, but not in the IssuerRegistry at block {block}")
            continue
        chain = {
            "kind": entry.kind.label,
            "status": entry.status.label,
            "accreditor": entry.accreditor,
            "did": entry.did,
            "document_hash": to_hex(entry.document_hash),
            "valid_from": entry.valid_from,
            "valid_until": entry.valid_until,
            "scope": entry.scope,
        }
        ours = {
            "kind": row.kind,
            "status": row.status,
            "accreditor": row.accreditor,
            "did": row.did,
            "document_hash": row.document_hash.lower(),
            "valid_from": row.valid_from,
            "valid_until": row.valid_until,
            "scope": row.scope,
        }
        diff = _diff(ours, chain)
        if diff:
            section.add(name, FAIL, diff)
        else:
            section.add(name, PASS, f"{row.kind}, {row.status}, as on chain")
    for account in registry.accounts(block=block):
        checksummed = Web3.to_checksum_address(account)
        if checksummed not in indexed:
            section.add(
                f"registry entry {checksummed}",
                FAIL,
                f"in the IssuerRegistry at block {block}, missing from the index",
            )


def _diff(ours: dict[str, Any], chain: dict[str, Any]) -> str:
    return "; ".join(
        f"{key} {ours[key]!r} in the index, {chain[key]!r} on chain"
        for key in chain
        if ours.get(key) != chain[key]
    )


def _common(ev: ChainEvent) -> dict[str, Any]:
    return {"block_number": ev.block_number, "block_hash": _hexa(ev.block_hash)}


def _row_common(row: Any) -> dict[str, Any]:
    return {"block_number": row.block_number, "block_hash": row.block_hash.lower()}


def _registry_event_fields(ev: ChainEvent | None, row: RegistryEvent | None) -> dict[str, Any]:
    if row is not None:
        return {
            "address": row.address,
            "action": row.action,
            "by": row.by,
            "previous_status": row.previous_status,
            "new_status": row.new_status,
            "reason": row.reason,
            "reason_hash": row.reason_hash.lower() if row.reason_hash else None,
            **_row_common(row),
        }
    assert ev is not None
    a = ev.args
    if ev.name == "IssuerAccredited":
        return {
            "address": Web3.to_checksum_address(a["account"]),
            "action": "accredited",
            "by": _addr(a["accreditor"]),
            "previous_status": None,
            "new_status": "active",
            "reason": None,
            "reason_hash": None,
            **_common(ev),
        }
    new = IssuerStatus(int(a["newStatus"])).label
    return {
        "address": Web3.to_checksum_address(a["account"]),
        "action": {"suspended": "suspended", "revoked": "revoked", "active": "reinstated"}.get(new, new),
        "by": _addr(a["by"]),
        "previous_status": IssuerStatus(int(a["previousStatus"])).label,
        "new_status": new,
        "reason": a.get("reason"),
        "reason_hash": _hexa(a["reasonHash"]),
        **_common(ev),
    }


def _anchor_fields(ev: ChainEvent | None, row: RegistryAnchor | None) -> dict[str, Any]:
    if row is not None:
        return {
            "issuer": row.issuer,
            "root": row.root.lower(),
            "leaf_count": int(row.leaf_count),
            **_row_common(row),
        }
    assert ev is not None
    return {
        "issuer": Web3.to_checksum_address(ev.args["issuer"]),
        "root": _hexa(ev.args["root"]),
        "leaf_count": int(ev.args["leafCount"]),
        **_common(ev),
    }


def _credential_status_fields(ev: ChainEvent | None, row: RegistryCredentialStatus | None) -> dict[str, Any]:
    if row is not None:
        return {
            "issuer": row.issuer,
            "root": row.root.lower(),
            "digest": row.digest.lower(),
            "status": row.status,
            "reason": int(row.reason),
            **_row_common(row),
        }
    assert ev is not None
    return {
        "issuer": Web3.to_checksum_address(ev.args["issuer"]),
        "root": _hexa(ev.args["root"]),
        "digest": _hexa(ev.args["digest"]),
        "status": CredentialStatus(int(ev.args["status"])).label,
        "reason": int(ev.args["reason"]),
        **_common(ev),
    }


def _compare_rows(
    section: Section,
    table: str,
    rows: Iterable[Any],
    events: list[ChainEvent],
    fields: Callable[[Any, Any], dict[str, Any]],
    block: int,
    step: Progress,
) -> None:
    """Each row against the event with its (transaction, log index); events without a row; rows without one."""
    by_key = {(r.tx_hash.lower(), int(r.log_index)): r for r in rows}
    seen = set()
    for ev in events:
        key = (_hexa(ev.tx_hash), ev.log_index)
        row = by_key.get(key)
        step("registry", 1, None)
        if row is None:
            section.add(_event_row(ev), FAIL, f"on chain, but the index has no {table} row for it")
            continue
        seen.add(key)
        name = f"{table} {row.id} (tx {row.tx_hash}, log {row.log_index})"
        diff = _diff(fields(None, row), fields(ev, None))
        section.add(name, FAIL if diff else PASS, diff or "as on chain")
    for key, row in by_key.items():
        if key in seen:
            continue
        name = f"{table} {row.id} (tx {row.tx_hash}, log {row.log_index})"
        if row.block_number > block:
            section.add(
                name,
                FAIL,
                f"in block {row.block_number}, after the block the indexer says it stopped at ({block})",
            )
        else:
            section.add(name, FAIL, "indexed, but the chain has no such event")
