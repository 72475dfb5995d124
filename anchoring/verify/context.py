"""The chain as a verifier sees it: one RPC endpoint, one deployment, reads pinned to one block, cached per run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from anchoring.chain.deployment import Deployment
from anchoring.errors import ChainError, ChainUnreachable, ContractRevert, WrongChain
from anchoring.scheme.encoding import to_hex
from anchoring.scheme.keccak import keccak256

_STATUS_NAMES = {0: "VALID", 1: "SUSPENDED", 2: "REVOKED"}


_ISSUER_STATUS = {0: "NONE", 1: "ACTIVE", 2: "SUSPENDED", 3: "REVOKED"}


_ISSUER_KIND = {0: "NONE", 1: "ROOT_TAO", 2: "TAO", 3: "TI"}


_STATUS_EVENT = keccak256(b"CredentialStatusChanged(bytes32,bytes32,address,uint8,uint8)")


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

            from anchoring.chain.rpc import call_chain

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
            from anchoring.chain.artifacts import abi

            w3 = self.w3
            self._anchor_contract = w3.eth.contract(address=self.deployment.credential_anchor,
                                                    abi=abi("CredentialAnchor"))
            self._registry_contract = w3.eth.contract(address=self.deployment.issuer_registry,
                                                      abi=abi("IssuerRegistry"))
        return self._anchor_contract, self._registry_contract

    def _call(self, fn: Any) -> Any:
        from web3.exceptions import ContractLogicError

        from anchoring.chain.revert import revert_from
        from anchoring.chain.rpc import call_chain

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
        from anchoring.chain.rpc import call_chain

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
            from anchoring.chain.rpc import call_chain

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
