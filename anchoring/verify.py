"""Verifying proof bundles against the chain: a report of named checks, never a bare boolean.

    from anchoring.deployment import Deployment
    from anchoring.verify import ChainContext, verify_bundle, verify_bundles

    chain = ChainContext("http://127.0.0.1:8545", Deployment.load("deployment.json"))
    report = verify_bundle(bundle_dict, chain)          # one bundle
    reports = verify_bundles(list_of_bundles, chain)    # many, a handful of RPC calls in all
    report.verdict, report.to_dict()

Checks, in order (each ``pass`` / ``fail`` / ``error`` with a human reason and details):

``format``          the bundle loads (``credreg-bundle/1`` schema, checksummed addresses, canonicalisable).
``integrity``       ``keccak256(salt || JCS(credential))`` equals the bundle's digest.
``inclusion``       the proof folds from the digest's leaf to the bundle's root (pure Python).
``anchored``        the root is anchored in the deployment's CredentialAnchor: by whom, when, in which block,
                    with how many confirmations; the bundle's chainId / contract / issuer agree with the chain.
``issuer_trusted``  the anchoring address was an active TI of the IssuerRegistry, within its validity
                    window, when the anchoring block was mined (from the registry's status ``history``, by
                    block: see :func:`active_at_block`); its current status is reported too (a TI
                    suspended *after* anchoring still passes, with ``current_status`` in the details).
``not_revoked``     the credential's status under the root is VALID (SUSPENDED / REVOKED fail, with the
                    reason code and the time of the change).
``issuer_matches``  the credential's stated issuer (``issuer`` string, ``issuer.id``, or an ELM
                    ``issuer.identifier[*].notation``) equals the DID in the anchoring address's registry entry.

An unreachable chain, a chain whose id is not the deployment's, a bundle for another chain or contract, or
any RPC failure is ``error`` (we could not decide), never ``fail`` (we decided: not valid).  A check that
depends on one that did not pass is ``error`` with ``details.skipped = true`` and the reason.  Verdict:
``valid`` iff every check passes, ``invalid`` if any fails, otherwise ``error``.

Cost: :class:`ChainContext` caches per run, so :func:`verify_bundles` makes one ``eth_chainId`` and one
``eth_blockNumber``, one ``anchorOf`` per distinct root, one ``getIssuer`` and one ``history`` per
distinct issuer, **one** ``eth_getLogs`` for the ``CredentialStatusChanged`` events of
all roots (the revoked / suspended set is built locally; the last event per digest wins, so a reinstated
credential is valid again) and one ``eth_getBlockByNumber`` per distinct block holding a status change of
a credential being verified.  10,000 bundles over 10 batches cost about 15 calls.  Every read is pinned
to the same block (the head at the start of the run), so a report is one consistent snapshot.
If the endpoint refuses the log query (some providers cap ``eth_getLogs`` ranges), the context falls
back to one ``statusOf(root, digest)`` call per bundle.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from .bundle import BUNDLE_FORMAT, Anchor, BundleFormatError, ProofBundle, well_formed
from .deployment import Deployment
from .errors import ChainError, ChainUnreachable, ContractRevert, WrongChain
from .hashing import (
    MAX_DEPTH,
    CanonicalizationError,
    canonicalize,
    credential_digest,
    fast_canonicalize,
    to_hex,
)
from .keccak import keccak256
from .merkle import MerkleTreeError, gc_paused, verify_proof
from .strict_json import strict_loads

__all__ = [
    "CHECKS",
    "ERROR",
    "FAIL",
    "PASS",
    "ChainContext",
    "Check",
    "VerificationReport",
    "stated_issuer_ids",
    "verify_bundle",
    "verify_bundles",
]

PASS, FAIL, ERROR = "pass", "fail", "error"
VALID, INVALID = "valid", "invalid"
CHECKS = ("format", "integrity", "inclusion", "anchored", "issuer_trusted", "not_revoked", "issuer_matches")

_STATUS_NAMES = {0: "VALID", 1: "SUSPENDED", 2: "REVOKED"}
_ISSUER_STATUS = {0: "NONE", 1: "ACTIVE", 2: "SUSPENDED", 3: "REVOKED"}
_ISSUER_KIND = {0: "NONE", 1: "ROOT_TAO", 2: "TAO", 3: "TI"}
_STATUS_EVENT = keccak256(b"CredentialStatusChanged(bytes32,bytes32,address,uint8,uint8)")


@lru_cache(maxsize=1024)
def iso_time(ts: int | None) -> str | None:
    """Unix seconds as ISO 8601 UTC (``2026-11-23T19:40:02Z``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------------------------- report
@dataclass
class Check:
    name: str
    status: str  # pass | fail | error
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "reason": self.reason, "details": self.details}


@dataclass
class VerificationReport:
    checks: list[Check]
    summary: dict[str, Any] = field(default_factory=dict)
    source: str | None = None  # e.g. a file name (CLI) or the index in a batch

    @property
    def verdict(self) -> str:
        states = {c.status for c in self.checks}
        if states == {PASS}:
            return VALID
        if FAIL in states:
            return INVALID
        return ERROR

    def check(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def __getitem__(self, name: str) -> Check:
        return self.check(name)

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if c.status == FAIL]

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"verdict": self.verdict}
        if self.source is not None:
            out["source"] = self.source
        out["summary"] = self.summary
        out["checks"] = [c.to_dict() for c in self.checks]
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------- chain
@dataclass(frozen=True)
class AnchorInfo:
    issuer: str
    anchored_at: int
    block: int


@dataclass(frozen=True)
class IssuerInfo:
    account: str
    kind: str
    status: str
    did: str
    accreditor: str
    valid_from: int
    valid_until: int


@dataclass(frozen=True)
class StatusInfo:
    status: int  # CredentialStatus
    reason: int
    block: int
    changed_at: int | None = None


class _Failed:
    """A cached chain failure: the same exception for every bundle of the run, asked for once."""

    def __init__(self, exc: BaseException):
        self.exc = exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ChainError):
        return str(exc)
    return f"{exc.__class__.__name__}: {exc}"


class ChainContext:
    """The chain as a verifier sees it: an RPC endpoint plus a deployment, with per-run caches.

    Connection is lazy; a failure to connect (unreachable, wrong chain id) is remembered, so a run of
    10,000 bundles against a dead endpoint waits for one timeout, not 10,000.  Reads are pinned to the
    head block seen first.  Create a new context (or call :meth:`refresh`) for a new run.
    """

    def __init__(self, rpc_url: str, deployment: Deployment, *, timeout: float = 10.0, provider: Any = None,
                 min_confirmations: int = 1, redact_endpoint: str | None = None):
        """``redact_endpoint``: a label (``"the node's RPC endpoint"``) that replaces the RPC URL and transport
        details in reasons, for reports shown to the public (URLs often carry an API key)."""
        self.rpc_url = rpc_url
        self.redact_endpoint = redact_endpoint
        self.deployment = deployment
        self.timeout = timeout
        self.min_confirmations = max(1, int(min_confirmations))
        self._provider = provider  # a web3 HTTPProvider (or a wrapper, e.g. one counting requests)
        self.refresh()

    def describe(self, exc: BaseException) -> str:
        """A reason for a chain failure; without the endpoint's URL when ``redact_endpoint`` is set."""
        text = _describe(exc)
        if self.redact_endpoint is None:
            return text
        if isinstance(exc, ChainUnreachable):
            return f"cannot reach {self.redact_endpoint} ({type(exc.__cause__ or exc).__name__})"
        return text.replace(self.rpc_url, self.redact_endpoint) if self.rpc_url else text

    @classmethod
    def from_files(cls, rpc_url: str, deployment_file: str, **kw: Any) -> ChainContext:
        return cls(rpc_url, Deployment.load(deployment_file), **kw)

    def refresh(self) -> None:
        """Forget everything learnt from the chain (a new run: new head, new statuses)."""
        self._state: Any = None  # None (not yet), _Failed, or (w3, chain_id, head)
        self._anchors: dict[bytes, AnchorInfo | None | _Failed] = {}
        self._issuers: dict[str, IssuerInfo | None | _Failed] = {}
        self._active_at: dict[tuple[str, int], bool | _Failed] = {}
        self._histories: dict[str, list | _Failed] = {}
        self._statuses: dict[bytes, dict[bytes, StatusInfo] | _Failed] = {}
        self._single_status: dict[tuple[bytes, bytes], StatusInfo | _Failed] = {}
        self._block_times: dict[int, int | _Failed] = {}
        self._logs_failed: BaseException | None = None  # why eth_getLogs was refused (fallback in use)
        self._anchor_contract = None
        self._registry_contract = None

    # -- connection -------------------------------------------------------------------------------
    def _connect(self) -> tuple[Any, int, int]:
        if isinstance(self._state, _Failed):
            raise self._state.exc
        if self._state is not None:
            return self._state
        try:
            from web3 import HTTPProvider, Web3

            from .chain import call_chain

            provider = self._provider or HTTPProvider(self.rpc_url, request_kwargs={"timeout": self.timeout})
            w3 = Web3(provider)
            # web3's validation middleware asks eth_chainId before *every* eth_call; we check it once here.
            w3.middleware_onion.remove("validation")
            chain_id = call_chain(lambda: w3.eth.chain_id, self.rpc_url)
            if chain_id != self.deployment.chain_id:
                raise WrongChain(f"{self.rpc_url} serves chain {chain_id}, "
                                 f"the deployment is on chain {self.deployment.chain_id}")
            head = call_chain(lambda: w3.eth.block_number, self.rpc_url)
            self._state = (w3, chain_id, head)
            return self._state
        except Exception as exc:
            self._state = _Failed(exc)
            raise

    @property
    def w3(self) -> Any:
        return self._connect()[0]

    @property
    def chain_id(self) -> int:
        return self._connect()[1]

    @property
    def head(self) -> int:
        return self._connect()[2]

    def _contracts(self):
        if self._anchor_contract is None:
            from .artifacts import abi

            w3 = self.w3
            self._anchor_contract = w3.eth.contract(address=self.deployment.credential_anchor,
                                                    abi=abi("CredentialAnchor"))
            self._registry_contract = w3.eth.contract(address=self.deployment.issuer_registry,
                                                      abi=abi("IssuerRegistry"))
        return self._anchor_contract, self._registry_contract

    def _call(self, fn: Any) -> Any:
        from web3.exceptions import ContractLogicError

        from .chain import call_chain
        from .transactions import revert_from

        head = self.head
        try:
            return call_chain(lambda: fn.call(block_identifier=head), self.rpc_url)
        except ContractLogicError as exc:
            raise revert_from(exc) from exc

    @staticmethod
    def _cached(cache: dict, key: Any, compute) -> Any:
        hit = cache.get(key, cache)
        if hit is cache:
            try:
                hit = compute()
            except Exception as exc:  # noqa: BLE001
                hit = _Failed(exc)
            cache[key] = hit
        if isinstance(hit, _Failed):
            raise hit.exc
        return hit

    # -- reads (cached) ---------------------------------------------------------------------------
    def anchor_of(self, root: bytes) -> AnchorInfo | None:
        def compute() -> AnchorInfo | None:
            anchor, _ = self._contracts()
            issuer, at, block = self._call(anchor.functions.anchorOf(root))
            if int(issuer, 16) == 0:
                return None
            return AnchorInfo(issuer, int(at), int(block))

        return self._cached(self._anchors, bytes(root), compute)

    def issuer(self, account: str) -> IssuerInfo | None:
        """The registry entry of `account`, or None when the registry does not know it."""
        def compute() -> IssuerInfo | None:
            _, registry = self._contracts()
            try:
                r = self._call(registry.functions.getIssuer(account))
            except ContractRevert as exc:
                if exc.error == "UnknownIssuer":
                    return None
                raise
            return IssuerInfo(account=r[0], kind=_ISSUER_KIND.get(r[1], str(r[1])),
                              status=_ISSUER_STATUS.get(r[2], str(r[2])), accreditor=r[3],
                              valid_from=int(r[4]), valid_until=int(r[5]), did=r[7])

        return self._cached(self._issuers, account, compute)

    def history(self, account: str) -> list[tuple[int, int, str]]:
        """The registry status history of `account`: (timestamp, block, status) oldest first."""
        def compute() -> list[tuple[int, int, str]]:
            _, registry = self._contracts()
            return [(int(t), int(b), _ISSUER_STATUS.get(int(st), str(st)))
                    for t, b, st, _by in self._call(registry.functions.history(account))]

        return self._cached(self._histories, account, compute)

    def was_active_ti_at(self, account: str, timestamp: int) -> bool:
        """The registry's own ``wasActiveTIAt`` (second-granular; the checks use :func:`active_at_block`)."""
        def compute() -> bool:
            _, registry = self._contracts()
            return bool(self._call(registry.functions.wasActiveTIAt(account, timestamp)))

        return self._cached(self._active_at, (account, int(timestamp)), compute)

    def block_time(self, number: int) -> int:
        from .chain import call_chain

        return self._cached(self._block_times, number,
                            lambda: int(call_chain(lambda: self.w3.eth.get_block(number)["timestamp"],
                                                   self.rpc_url)))

    def prefetch_statuses(self, roots: Iterable[bytes]) -> None:
        """One ``eth_getLogs`` for the CredentialStatusChanged events of all anchored `roots` not seen yet."""
        todo: dict[bytes, AnchorInfo] = {}
        for root in roots:
            if root in self._statuses:
                continue
            try:
                info = self.anchor_of(root)
            except Exception:  # noqa: BLE001, S112 - reported by the anchored check
                continue
            if info is not None:
                todo[root] = info
        if not todo:
            return
        try:
            from .chain import call_chain

            from_block = max(min(i.block for i in todo.values()), self.deployment.deployment_block)
            params = {
                "address": self.deployment.credential_anchor,
                "fromBlock": from_block,
                "toBlock": self.head,
                "topics": [to_hex(_STATUS_EVENT), [to_hex(r) for r in todo]],
            }
            logs = call_chain(lambda: self.w3.eth.get_logs(params), self.rpc_url)
        except Exception as exc:  # noqa: BLE001 - fall back to statusOf per credential
            self._logs_failed = exc
            return
        found: dict[bytes, dict[bytes, StatusInfo]] = {r: {} for r in todo}
        logs = sorted((lg for lg in logs if not lg.get("removed")),
                      key=lambda lg: (lg["blockNumber"], lg["logIndex"]))
        for lg in logs:
            topics = lg["topics"]
            root, digest = bytes(topics[1]), bytes(topics[2])
            if root not in found:
                continue
            data = bytes(lg["data"])
            found[root][digest] = StatusInfo(status=int.from_bytes(data[0:32], "big"),
                                             reason=int.from_bytes(data[32:64], "big"),
                                             block=int(lg["blockNumber"]))
        self._statuses.update(found)

    def status_of(self, root: bytes, digest: bytes) -> StatusInfo:
        """The credential's status under `root` (VALID when never changed)."""
        if root not in self._statuses:
            self.prefetch_statuses([root])
        per_root = self._statuses.get(root)
        if isinstance(per_root, dict):
            info = per_root.get(digest)
            if info is None:
                return StatusInfo(0, 0, 0, None)
            if info.changed_at is None and info.status != 0:
                info = StatusInfo(info.status, info.reason, info.block, self.block_time(info.block))
                per_root[digest] = info
            return info

        def compute() -> StatusInfo:  # logs unavailable: ask the contract, one call per credential
            anchor, _ = self._contracts()
            status, reason, at, block = self._call(anchor.functions.statusOf(root, digest))
            return StatusInfo(int(status), int(reason), int(block), int(at) if block else None)

        return self._cached(self._single_status, (root, digest), compute)


# ---------------------------------------------------------------------------------------------- checks
def stated_issuer_ids(credential: Any) -> list[str]:
    """The identifiers a credential gives for its issuer: ``issuer`` (string), ``issuer.id``, and for ELM
    ``issuer.identifier[*].notation`` (the DID is often carried there; ``issuer.id`` is a URN)."""
    if not isinstance(credential, dict):
        return []
    issuer = credential.get("issuer")
    if isinstance(issuer, str):
        return [issuer]
    out: list[str] = []
    if isinstance(issuer, dict):
        if isinstance(issuer.get("id"), str):
            out.append(issuer["id"])
        idents = issuer.get("identifier")
        if isinstance(idents, dict):
            idents = [idents]
        if isinstance(idents, list):
            for ident in idents:
                if isinstance(ident, dict) and isinstance(ident.get("notation"), str):
                    out.append(ident["notation"])
                elif isinstance(ident, str):
                    out.append(ident)
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _skipped(name: str, because: Sequence[str]) -> Check:
    return Check(name, ERROR, f"not checked: depends on {', '.join(because)}, which did not pass",
                 {"skipped": True, "depends_on": list(because)})


def _chain_error(name: str, exc: BaseException, chain: ChainContext) -> Check:
    return Check(name, ERROR, f"could not ask the chain: {chain.describe(exc)}",
                 {"error": exc.__class__.__name__})


@dataclass
class _Parsed:
    source: Any
    bundle: ProofBundle | None = None
    checks: list[Check] = field(default_factory=list)


_FAST_DEPTH = MAX_DEPTH - 2


def _fast_load(obj: Any) -> tuple[ProofBundle, bytes] | None:
    """The common case of :meth:`ProofBundle.load` (same checks, through :func:`well_formed`) without its
    deep copy of the credential, keeping the canonical bytes for the integrity check. Returns the bundle and
    those bytes, or None, in which case :meth:`ProofBundle.load` runs and names the bad field."""
    if not well_formed(obj):
        return None
    cred, a, proof = obj["credential"], obj["anchor"], obj["proof"]
    canonical = fast_canonicalize(cred, max_depth=_FAST_DEPTH)
    if canonical is None:
        try:
            canonical = canonicalize(cred)
        except CanonicalizationError:
            return None
    fh = bytes.fromhex
    bundle = ProofBundle(
        credential=cred, salt=fh(obj["salt"][2:]), digest=fh(obj["digest"][2:]),
        proof=tuple(fh(p[2:]) for p in proof), root=fh(obj["root"][2:]),
        anchor=Anchor(chain_id=a["chainId"], contract=a["contract"], tx_hash=fh(a["txHash"][2:]),
                      block_number=a["blockNumber"], issuer=a["issuer"], anchored_at=a["anchoredAt"]),
        format=BUNDLE_FORMAT)
    return bundle, canonical


def _offline(obj: Any) -> _Parsed:
    """format, integrity, inclusion: no chain needed."""
    p = _Parsed(obj)
    canonical = None
    try:
        if isinstance(obj, ProofBundle):
            bundle = obj
        else:
            if isinstance(obj, (str, bytes, bytearray)):
                try:  # strict as ProofBundle.loads: no duplicate keys, no NaN / Infinity
                    obj = strict_loads(obj)
                except (ValueError, TypeError):
                    pass  # loads() below reports it precisely
            fast = _fast_load(obj) if type(obj) is dict else None
            if fast is not None:
                bundle, canonical = fast
            elif isinstance(obj, (str, bytes, bytearray)):
                bundle = ProofBundle.loads(obj, check_integrity=False)
            else:
                bundle = ProofBundle.load(obj, check_integrity=False)
    except BundleFormatError as exc:
        p.checks.append(Check("format", FAIL, f"not a valid proof bundle: {exc}", {"field": exc.field}))
        return p
    except (ValueError, TypeError) as exc:  # e.g. "0x..\n" passes the schema's `$` but not from_hex
        p.checks.append(Check("format", FAIL, f"not a valid proof bundle: {exc}", {"field": ""}))
        return p
    p.bundle = bundle
    p.checks.append(Check("format", PASS, f"a well-formed {bundle.format} bundle", {"format": bundle.format}))
    try:
        recomputed = credential_digest(bundle.salt, canonical if canonical is not None
                                       else canonicalize(bundle.credential))
        if recomputed != bundle.digest and canonical is not None:  # never let the fast path decide a failure
            recomputed = credential_digest(bundle.salt, canonicalize(bundle.credential))
    except (CanonicalizationError, ValueError) as exc:  # pragma: no cover - load canonicalised already
        p.checks.append(Check("integrity", FAIL, f"cannot canonicalise the credential: {exc}", {}))
    else:
        if recomputed == bundle.digest:
            p.checks.append(Check("integrity", PASS, "keccak256(salt || JCS(credential)) equals the digest",
                                  {"digest": to_hex(recomputed)}))
        else:
            p.checks.append(Check(
                "integrity", FAIL,
                "keccak256(salt || JCS(credential)) does not equal the bundle's digest: "
                "the credential, the salt or the digest was altered",
                {"expected": to_hex(bundle.digest), "recomputed": to_hex(recomputed)}))
    try:
        included = verify_proof(bundle.root, bundle.digest, bundle.proof)
    except MerkleTreeError as exc:  # pragma: no cover - schema guarantees 32-byte values
        included = False
        why = str(exc)
    else:
        why = "the proof does not lead from the digest's leaf to the root"
    if included:
        p.checks.append(Check("inclusion", PASS, f"the proof ({_plural(len(bundle.proof), 'node')}) folds from the "
                              "digest's leaf to the root", {"root": to_hex(bundle.root),
                                                            "proof_length": len(bundle.proof)}))
    else:
        p.checks.append(Check("inclusion", FAIL, why, {"root": to_hex(bundle.root)}))
    return p


def _online(p: _Parsed, chain: ChainContext) -> VerificationReport:
    checks = p.checks
    summary: dict[str, Any] = {}
    if p.bundle is None:
        for name in CHECKS[1:]:
            checks.append(_skipped(name, ["format"]))
        return VerificationReport(checks, summary)
    b = p.bundle
    by_name = {c.name: c for c in checks}
    summary.update({
        "digest": to_hex(b.digest),
        "root": to_hex(b.root),
        "chain_id": b.anchor.chain_id,
        "contract": b.anchor.contract,
        "tx_hash": to_hex(b.anchor.tx_hash),
        "credential": _credential_summary(b.credential),
    })

    # -- anchored --------------------------------------------------------------------------------------
    record: AnchorInfo | None = None
    anchored: Check
    try:
        chain_id = chain.chain_id
        head = chain.head
        if b.anchor.chain_id != chain_id:
            raise WrongChain(f"the bundle was anchored on chain {b.anchor.chain_id}; the verifier is "
                             f"connected to chain {chain_id}: use an RPC endpoint and deployment for that chain")
        if b.anchor.contract.lower() != chain.deployment.credential_anchor.lower():
            raise WrongChain(f"the bundle names CredentialAnchor {b.anchor.contract}; the verifier's "
                             f"deployment is {chain.deployment.credential_anchor}: use the deployment file "
                             "of the network that issued it")
        record = chain.anchor_of(b.root)
    except Exception as exc:  # noqa: BLE001
        anchored = _chain_error("anchored", exc, chain)
        if isinstance(exc, WrongChain):
            anchored.reason = chain.describe(exc)
        record = None
    else:
        if record is None:
            anchored = Check("anchored", FAIL, f"the root was never anchored in CredentialAnchor "
                             f"{chain.deployment.credential_anchor} on chain {chain_id}",
                             {"root": to_hex(b.root)})
        else:
            confirmations = head - record.block + 1
            details = {
                "issuer": record.issuer,
                "anchored_at": record.anchored_at,
                "anchored_at_iso": iso_time(record.anchored_at),
                "block": record.block,
                "head": head,
                "confirmations": confirmations,
            }
            notes = []
            if b.anchor.block_number != record.block:
                notes.append(f"bundle says block {b.anchor.block_number}")
            if b.anchor.anchored_at != record.anchored_at:
                notes.append(f"bundle says time {b.anchor.anchored_at}")
            if notes:
                details["bundle_differs"] = notes  # chain values are authoritative; reported, not failed
            summary.update({"issuer_address": record.issuer, "anchored_at": record.anchored_at,
                            "anchored_at_iso": iso_time(record.anchored_at), "block": record.block,
                            "confirmations": confirmations})
            if b.anchor.issuer.lower() != record.issuer.lower():
                anchored = Check("anchored", FAIL, f"the bundle says the root was anchored by {b.anchor.issuer}, "
                                 f"the chain says by {record.issuer}", details)
            elif confirmations < chain.min_confirmations:
                anchored = Check("anchored", ERROR, f"anchored in block {record.block} but only {confirmations} "
                                 f"of {chain.min_confirmations} confirmations yet: try again later", details)
            else:
                anchored = Check("anchored", PASS, f"anchored by {record.issuer} at {iso_time(record.anchored_at)} "
                                 f"in block {record.block} ({_plural(confirmations, 'confirmation')})", details)
    checks.append(anchored)

    # -- issuer_trusted --------------------------------------------------------------------------------
    entry: IssuerInfo | None = None
    entry_ok = False
    if record is None:
        checks.append(_skipped("issuer_trusted", ["anchored"]))
    else:
        try:
            entry = chain.issuer(record.issuer)
            entry_ok = True
            history = chain.history(record.issuer) if entry is not None else []
        except Exception as exc:  # noqa: BLE001
            checks.append(_chain_error("issuer_trusted", exc, chain))
        else:
            details = {"issuer": record.issuer, "at": record.anchored_at, "at_iso": iso_time(record.anchored_at),
                       "registry": chain.deployment.issuer_registry}
            if entry is not None:
                details.update({"did": entry.did, "kind": entry.kind, "current_status": entry.status,
                                "accreditor": entry.accreditor})
                summary.update({"issuer_did": entry.did, "issuer_status": entry.status})
            if entry is None:
                checks.append(Check("issuer_trusted", FAIL, f"{record.issuer} is not in the IssuerRegistry "
                                    f"{chain.deployment.issuer_registry}", details))
            elif not (active := active_at_block(entry, history, record))[0]:
                details["status_at_anchoring"] = active[1]
                checks.append(Check("issuer_trusted", FAIL, f"{entry.did} ({record.issuer}) was not an active "
                                    f"trusted issuer at {iso_time(record.anchored_at)} (block {record.block}): "
                                    f"{active[1]}", details))
            else:
                now = "" if entry.status == "ACTIVE" else f"; its current status is {entry.status}"
                checks.append(Check("issuer_trusted", PASS, f"{entry.did} was an active trusted issuer at "
                                    f"anchoring time{now}", details))

    # -- not_revoked -----------------------------------------------------------------------------------
    deps = [n for n in ("inclusion",) if by_name[n].status != PASS] + ([] if record is not None else ["anchored"])
    if deps:
        checks.append(_skipped("not_revoked", deps))
    else:
        try:
            st = chain.status_of(b.root, b.digest)
        except Exception as exc:  # noqa: BLE001
            checks.append(_chain_error("not_revoked", exc, chain))
        else:
            name = _STATUS_NAMES.get(st.status, str(st.status))
            summary["status"] = name
            if st.status == 0:
                detail = {"status": name}
                if st.block:
                    detail["reinstated_block"] = st.block
                checks.append(Check("not_revoked", PASS, "not revoked or suspended", detail))
            else:
                detail = {"status": name, "reason_code": st.reason, "changed_at": st.changed_at,
                          "changed_at_iso": iso_time(st.changed_at), "block": st.block}
                checks.append(Check("not_revoked", FAIL, f"{name.lower()} by the issuer at "
                                    f"{iso_time(st.changed_at)} (block {st.block}), reason code {st.reason}",
                                    detail))

    # -- issuer_matches --------------------------------------------------------------------------------
    stated = stated_issuer_ids(b.credential)
    deps = [] if by_name["integrity"].status == PASS else ["integrity"]
    if record is None:
        deps.append("anchored")
    elif not entry_ok:
        deps.append("issuer_trusted")
    if deps:
        checks.append(_skipped("issuer_matches", deps))
    elif entry is None:
        checks.append(Check("issuer_matches", FAIL, f"the anchoring address {record.issuer} has no registry "
                            "entry, so no DID to compare with", {"stated": stated}))
    elif entry.did in stated:
        checks.append(Check("issuer_matches", PASS, f"the credential's issuer {entry.did} is the registry DID "
                            "of the anchoring address", {"stated": stated, "registry_did": entry.did}))
    elif not stated:
        checks.append(Check("issuer_matches", FAIL, "the credential names no issuer (neither `issuer` nor "
                            "`issuer.id`)", {"stated": stated, "registry_did": entry.did}))
    else:
        checks.append(Check("issuer_matches", FAIL, f"the credential says it was issued by {stated[0]}, but the "
                            f"anchoring address is registered as {entry.did}",
                            {"stated": stated, "registry_did": entry.did}))
    return VerificationReport(checks, summary)


def active_at_block(entry: IssuerInfo, history: Sequence[tuple[int, int, str]],
                    record: AnchorInfo) -> tuple[bool, str]:
    """Was `entry` an active TI, within its validity window, when `record`'s block was mined?

    Decided by *block*, not by second: the registry's ``wasActiveTIAt(account, time)`` looks up the last
    status change at or before a timestamp, so a suspension mined in the same second as (but after) the
    anchoring reads as "not active at anchoring time".  Here the status in force is the last change in an
    earlier block; a change *in* the anchoring block counts as active if any change in that block is to
    ACTIVE or the status before the block was ACTIVE (the order inside one block is not recorded in the
    history, and the anchor contract only accepts active TIs).
    """
    if entry.kind != "TI":
        return False, f"registered as {entry.kind}, not as a trusted issuer (TI)"
    at = record.anchored_at
    if not (entry.valid_from <= at and (entry.valid_until == 0 or at < entry.valid_until)):
        return False, (f"outside its accreditation validity window ({iso_time(entry.valid_from)} to "
                       f"{iso_time(entry.valid_until) if entry.valid_until else 'open'})")
    before = [st for _t, blk, st in history if blk < record.block]
    same = [st for _t, blk, st in history if blk == record.block]
    status_before = before[-1] if before else "NONE"
    if status_before == "ACTIVE" or "ACTIVE" in same:
        return True, "ACTIVE"
    return False, f"its status was {status_before}"


def _credential_summary(credential: dict) -> dict:
    out: dict[str, Any] = {}
    for key in ("id", "type", "name", "validFrom", "issuanceDate"):
        if key in credential and isinstance(credential[key], (str, list)):
            out[key] = credential[key]
    stated = stated_issuer_ids(credential)
    if stated:
        out["issuer"] = stated[0]
    return out


# ---------------------------------------------------------------------------------------------- entry
def verify_bundles(bundles: Iterable[Any], chain: ChainContext, *, sources: Sequence[Any] | None = None,
                   progress: Any = None) -> list[VerificationReport]:
    """Verify many bundles (dicts, JSON text or :class:`ProofBundle`) against one chain snapshot.

    ``progress`` (optional) is called with the number of bundles done so far (every 50, and at the end).
    """
    with gc_paused():
        return _verify_bundles(bundles, chain, sources, progress)


def _verify_bundles(bundles: Iterable[Any], chain: ChainContext, sources: Sequence[Any] | None,
                    progress: Any) -> list[VerificationReport]:
    if progress is None:
        parsed = [_offline(b) for b in bundles]
    else:  # the offline checks are most of the work: report them as they go
        parsed = []
        for i, b in enumerate(bundles, 1):
            parsed.append(_offline(b))
            if i % 50 == 0:
                progress(i)
    roots = []
    seen: set[bytes] = set()
    for p in parsed:
        if p.bundle is not None and p.bundle.root not in seen:
            seen.add(p.bundle.root)
            roots.append(p.bundle.root)
    if roots:
        try:
            _ = chain.head  # connect once; a failure is cached and reported per bundle
        except Exception:  # noqa: BLE001, S110 - reported per bundle by the anchored check
            pass
        else:
            for root in roots:
                try:
                    chain.anchor_of(root)
                except Exception:  # noqa: BLE001, S110 - cached, reported per bundle
                    pass
            chain.prefetch_statuses(roots)
    reports = []
    for i, p in enumerate(parsed):
        report = _online(p, chain)
        if sources is not None:
            report.source = sources[i]
        reports.append(report)
    if progress is not None:
        progress(len(reports))
    return reports


def verify_bundle(bundle: Any, chain: ChainContext) -> VerificationReport:
    """Verify one bundle (a dict, JSON text or :class:`ProofBundle`)."""
    return verify_bundles([bundle], chain)[0]
