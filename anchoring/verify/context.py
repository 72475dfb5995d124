"""The chain as a verifier sees it: one RPC endpoint and one deployment, every read pinned to one block (the
head seen first) and cached for the run, through the light reader of :mod:`anchoring.chain.reader` (plain
JSON-RPC: the verifier does not import web3).

Connection is lazy; a failure to connect (unreachable, wrong chain id) is remembered, so a run of 10,000
bundles against a dead endpoint waits for one timeout, not 10,000. Only :class:`~anchoring.errors.ChainError`
is cached and reported: any other exception is a bug and propagates.

Cost of :func:`~anchoring.verify.run.verify_bundles`: one ``eth_chainId`` and one ``eth_blockNumber``, one
``version()`` per contract (once per contract set: the on-chain version must be the deployment file's), one
``anchorOf`` per distinct (issuer, root), one ``getIssuer`` and one ``history`` per distinct issuer, **one**
``eth_getLogs`` per contract set for the status changes of all roots (the last event per digest wins, so a
reinstated credential is valid again) and one ``eth_getBlockByNumber`` per distinct block holding a status
change of a credential being verified. If the endpoint refuses the log query (some providers cap
``eth_getLogs`` ranges), the context falls back to one ``statusOf`` call per credential.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from anchoring.chain.deployment import ContractSet, Deployment
from anchoring.chain.endpoint import redact_url
from anchoring.chain.jsonrpc import JsonRpc
from anchoring.chain.reader import ContractReads, block_param, quantity
from anchoring.chain.records import (
    AnchorRecord,
    CredentialStatus,
    CredentialStatusRecord,
    IssuerEntry,
    KeyRecord,
    StatusChange,
    StatusListRecord,
)
from anchoring.errors import ChainError, ChainRequestFailed, ChainUnreachable, WrongChain
from anchoring.verify.blocking import may_block

__all__ = ["ChainContext", "StatusInfo"]

T = TypeVar("T")


@dataclass(frozen=True)
class StatusInfo:
    """A credential's status under one (issuer, root); ``changed_at`` is None when never changed."""

    status: CredentialStatus
    reason: int
    block: int
    changed_at: int | None = None


_VALID = StatusInfo(CredentialStatus.VALID, 0, 0, None)


class _Failed:
    """A cached chain failure: the same exception for every bundle of the run, asked for once."""

    def __init__(self, exc: ChainError) -> None:
        self.exc = exc


class ChainContext:
    """An RPC endpoint plus a deployment, with per-run caches. Create a new one (or :meth:`refresh`) per run."""

    def __init__(
        self,
        rpc_url: str,
        deployment: Deployment,
        *,
        timeout: float = 10.0,
        provider: Any = None,
        min_confirmations: int = 1,
        redact_endpoint: str | None = None,
    ) -> None:
        """``redact_endpoint``: a label (``"the node's RPC endpoint"``) that replaces even the redacted host in
        reasons, for reports shown to the public."""
        self.rpc_url = rpc_url
        self.redact_endpoint = redact_endpoint
        self.deployment = deployment
        self.timeout = timeout
        self.min_confirmations = max(1, int(min_confirmations))
        # a web3-style provider (the node's circuit breaker, a test's counter), or None: plain JSON-RPC
        self._provider = provider
        self.refresh()

    @property
    def endpoint(self) -> str:
        """How reasons name the endpoint: never its full URL (which may carry an API key)."""
        return self.redact_endpoint or redact_url(self.rpc_url)

    def describe(self, exc: ChainError) -> str:
        """A reason for a chain failure, naming the endpoint only as :attr:`endpoint` does."""
        if isinstance(exc, ChainUnreachable):
            return f"cannot reach {self.endpoint} ({type(exc.__cause__ or exc).__name__})"
        text = str(exc)
        for shown in (self.rpc_url, redact_url(self.rpc_url)):
            if shown:
                text = text.replace(shown, self.endpoint)
        return text

    @classmethod
    def from_files(cls, rpc_url: str, deployment_file: str, **kw: Any) -> ChainContext:
        return cls(rpc_url, Deployment.load(deployment_file), **kw)

    def refresh(self) -> None:
        """Forget everything learnt from the chain (a new run: new head, new statuses)."""
        self._state: tuple[JsonRpc, int, int] | _Failed | None = None
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._statuses: dict[tuple[str, str, bytes], dict[bytes, StatusInfo] | _Failed] = {}
        self.logs_failed: ChainError | None = None  # why eth_getLogs was refused (fallback in use)
        self._readers: dict[str, ContractReads] = {}

    # -- connection -------------------------------------------------------------------------------
    def _connect(self) -> tuple[JsonRpc, int, int]:
        if isinstance(self._state, _Failed):
            raise self._state.exc
        if self._state is not None:
            return self._state
        may_block()
        try:
            rpc = JsonRpc(self.rpc_url, self.timeout, provider=self._provider, label=self.endpoint)
            chain_id = quantity(rpc.request("eth_chainId", []), "eth_chainId", self.endpoint)
            if chain_id != self.deployment.chain_id:
                raise WrongChain(
                    f"{self.endpoint} serves chain {chain_id}, "
                    f"the deployment is on chain {self.deployment.chain_id}"
                )
            head = self._block_number(rpc)
        except ChainError as exc:
            self._state = _Failed(exc)
            raise
        self._state = (rpc, chain_id, head)
        return self._state

    @property
    def rpc(self) -> JsonRpc:
        return self._connect()[0]

    def current_head(self) -> int:
        """The chain's head now (not the pinned :attr:`head`), asked every time; ChainError when unanswered."""
        return self._block_number(self.rpc)

    def _block_number(self, rpc: JsonRpc) -> int:
        return quantity(rpc.request("eth_blockNumber", []), "eth_blockNumber", self.endpoint)

    @property
    def chain_id(self) -> int:
        return self._connect()[1]

    @property
    def head(self) -> int:
        return self._connect()[2]

    def contracts_for(self, anchor_address: str) -> ContractSet:
        """The deployment's contract set whose CredentialAnchor is `anchor_address`; WrongChain otherwise."""
        contracts = self.deployment.set_for_anchor(anchor_address)
        if contracts is None:
            listed = ", ".join(c.credential_anchor for c in self.deployment.contract_sets)
            raise WrongChain(
                f"CredentialAnchor {anchor_address} is not in the verifier's deployment (it lists "
                f"{listed}): use the deployment file of the network that issued it"
            )
        return contracts

    def contract_versions(self, contracts: ContractSet) -> tuple[str, str]:
        """``version()`` of the set's CredentialAnchor and IssuerRegistry, as the chain answers (once per run).
        Version-1 contracts have no ``version()``: their readers answer "1"."""

        def ask() -> tuple[str, str]:
            reads = self._reads_of(contracts)
            return reads.version("CredentialAnchor", self.head), reads.version("IssuerRegistry", self.head)

        return self._cached(("versions", contracts.credential_anchor), ask)

    def check_contract_versions(self, contracts: ContractSet) -> tuple[str, str]:
        """The on-chain versions, or :class:`WrongChain` when either is not the deployment file's: the file names
        contracts that are not what it says (a wrong or tampered deployment file)."""
        anchor, registry = self.contract_versions(contracts)
        wanted = contracts.version.split(".", 1)[0] if contracts.major == 1 else contracts.version
        for name, address, found in (
            ("CredentialAnchor", contracts.credential_anchor, anchor),
            ("IssuerRegistry", contracts.issuer_registry, registry),
        ):
            if found != wanted:
                raise WrongChain(
                    f"{name} {address} answers version() {found!r}, the verifier's deployment file says "
                    f"{contracts.version!r}: the deployment file does not describe these contracts"
                )
        return anchor, registry

    def _reads_of(self, contracts: ContractSet) -> ContractReads:
        found = self._readers.get(contracts.credential_anchor)
        if found is None:
            found = self._readers[contracts.credential_anchor] = ContractReads(self.rpc, contracts)
        return found

    def _cached(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        hit = self._cache.get(key, self._cache)
        if hit is self._cache:
            may_block()
            try:
                hit = compute()
            except ChainError as exc:
                hit = _Failed(exc)
            self._cache[key] = hit
        if isinstance(hit, _Failed):
            raise hit.exc
        result: T = hit
        return result

    # -- reads (cached, pinned to the head) --------------------------------------------------------
    def anchor_of(self, contracts: ContractSet, issuer: str, root: bytes) -> AnchorRecord | None:
        return self._cached(
            ("anchor", contracts.credential_anchor, issuer.lower(), bytes(root)),
            lambda: self._reads_of(contracts).anchor_of(issuer, root, self.head),
        )

    def issuer(self, contracts: ContractSet, account: str) -> IssuerEntry | None:
        """The registry entry of `account`, or None when the registry does not know it."""
        return self._cached(
            ("issuer", contracts.issuer_registry, account.lower()),
            lambda: self._reads_of(contracts).find_issuer(account, self.head),
        )

    def history(self, contracts: ContractSet, account: str) -> list[StatusChange]:
        """The registry status history of `account`, oldest first (the first entry is its accreditation)."""
        return self._cached(
            ("history", contracts.issuer_registry, account.lower()),
            lambda: self._reads_of(contracts).history(account, self.head),
        )

    def verification_key(self, contracts: ContractSet, account: str, key_hash: bytes) -> KeyRecord | None:
        return self._cached(
            ("key", contracts.issuer_registry, account.lower(), bytes(key_hash)),
            lambda: self._reads_of(contracts).verification_key(account, key_hash, self.head),
        )

    def status_list_of(self, contracts: ContractSet, issuer: str, list_id: bytes) -> StatusListRecord | None:
        """The latest on-chain publication of `issuer`'s status list `list_id` (keccak256 of its URL)."""
        return self._cached(
            ("statuslist", contracts.credential_anchor, issuer.lower(), bytes(list_id)),
            lambda: self._reads_of(contracts).status_list_of(issuer, list_id, self.head),
        )

    def block_time(self, number: int) -> int:
        return self._cached(
            ("block", number),
            lambda: self._block_timestamp(number),
        )

    def _block_timestamp(self, number: int) -> int:
        block = self.rpc.request("eth_getBlockByNumber", [block_param(number), False])
        if not isinstance(block, dict):
            raise ChainRequestFailed(f"{self.endpoint} does not know block {number}")
        return quantity(block.get("timestamp"), "eth_getBlockByNumber", self.endpoint)

    def prefetch_statuses(
        self,
        contracts: ContractSet,
        anchors: Iterable[AnchorRecord | tuple[str, bytes]],
        roots: Iterable[bytes] | None = None,
    ) -> None:
        """One ``eth_getLogs`` for the status changes under the given anchors not seen yet.

        `anchors` are AnchorRecords with their roots in `roots` (same order), or (issuer, root) pairs whose
        anchor is looked up (cached)."""
        pairs: dict[tuple[str, str, bytes], AnchorRecord] = {}
        items = list(anchors)
        root_list = list(roots) if roots is not None else None
        for i, item in enumerate(items):
            if isinstance(item, AnchorRecord):
                assert root_list is not None
                issuer, root, record = item.issuer, bytes(root_list[i]), item
            else:
                issuer, root = item
                try:
                    looked_up = self.anchor_of(contracts, issuer, root)
                except ChainError:
                    continue  # reported by the anchored check
                if looked_up is None:
                    continue
                record = looked_up
            key = (contracts.credential_anchor, issuer.lower(), root)
            if key not in self._statuses:
                pairs[key] = record
        if not pairs:
            return
        may_block()
        try:
            from_block = max(min(r.block_number for r in pairs.values()), contracts.deployment_block)
            events = self._reads_of(contracts).status_changes(
                [(r.issuer, k[2]) for k, r in pairs.items()], from_block, self.head
            )
        except ChainError as exc:  # fall back to statusOf per credential
            self.logs_failed = exc
            return
        found: dict[tuple[str, str, bytes], dict[bytes, StatusInfo]] = {k: {} for k in pairs}
        for ev in events:  # oldest first: the last event per digest wins
            key = (contracts.credential_anchor, ev.issuer.lower(), ev.root)
            if key in found:
                found[key][ev.digest] = StatusInfo(ev.status, ev.reason, ev.block_number)
        self._statuses.update(found)

    def status_of(self, contracts: ContractSet, issuer: str, root: bytes, digest: bytes) -> StatusInfo:
        """The credential's status under (issuer, root): VALID when never changed."""
        key = (contracts.credential_anchor, issuer.lower(), bytes(root))
        if key not in self._statuses:
            self.prefetch_statuses(contracts, [(issuer, root)])
        per_root = self._statuses.get(key)
        if isinstance(per_root, dict):
            info = per_root.get(digest)
            if info is None:
                return _VALID
            if info.changed_at is None and info.status != CredentialStatus.VALID:
                info = StatusInfo(info.status, info.reason, info.block, self.block_time(info.block))
                per_root[digest] = info
            return info

        def ask() -> StatusInfo:  # logs unavailable: ask the contract, one call per credential
            record: CredentialStatusRecord = self._reads_of(contracts).status_of(
                issuer, root, digest, self.head
            )
            return StatusInfo(
                record.status,
                record.reason,
                record.block_number,
                record.changed_at if record.block_number else None,
            )

        return self._cached(("status", contracts.credential_anchor, issuer.lower(), bytes(root), digest), ask)
