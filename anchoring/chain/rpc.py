"""Talking to an EVM JSON-RPC endpoint: connecting, and the one place where transport and RPC failures become
:class:`~anchoring.errors.ChainError` s.

Every chain read and write in the library goes through :func:`call_chain`, so callers catch one family of
errors: :class:`ChainUnreachable` (nobody answers), :class:`ChainRequestFailed` (the endpoint answered with an
error), :class:`ContractRevert` (a call reverted, decoded from the contracts' ABIs). "Not found" answers
(``TransactionNotFound``, ``BlockNotFound``) pass through unchanged: they are answers, not failures.

Messages name the endpoint by :func:`redact_url` only: providers put API keys in the URL's path or query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from web3 import Web3
from web3.exceptions import (
    BadFunctionCallOutput,
    BlockNotFound,
    ContractLogicError,
    TransactionNotFound,
    Web3Exception,
    Web3RPCError,
)
from web3.providers import HTTPProvider

from anchoring.chain.deployment import Deployment
from anchoring.chain.endpoint import redact, redact_url
from anchoring.chain.revert import revert_from
from anchoring.errors import ChainRequestFailed, ChainUnreachable, WrongChain

__all__ = ["UNREACHABLE_ERRORS", "call_chain", "connect", "redact", "redact_url"]

T = TypeVar("T")

# requests/aiohttp/urllib3 raise many types for "nobody answers"; most derive from OSError.
UNREACHABLE_ERRORS: tuple[type[BaseException], ...] = (OSError, TimeoutError)
try:  # requests' exceptions do not all derive from OSError
    import requests

    UNREACHABLE_ERRORS += (requests.exceptions.ConnectionError, requests.exceptions.Timeout)
except ImportError:  # pragma: no cover
    pass

#: answers that mean "there is no such thing", which callers handle themselves
NOT_FOUND: tuple[type[BaseException], ...] = (TransactionNotFound, BlockNotFound)


def call_chain(fn: Callable[[], T], endpoint: str | None = None) -> T:
    """Run `fn()` (one or more RPC requests) and turn its failures into ChainErrors; `endpoint` is the URL
    (redacted here) or a label for messages."""
    try:
        return fn()
    except NOT_FOUND:
        raise
    except ContractLogicError as exc:
        raise revert_from(exc) from exc
    except UNREACHABLE_ERRORS as exc:
        raise ChainUnreachable(f"cannot reach {_label(endpoint)}: {type(exc).__name__}") from exc
    except BadFunctionCallOutput as exc:
        raise ChainRequestFailed(
            f"{_label(endpoint)} returned no data for a contract call: no contract at that "
            "address on this chain (wrong deployment file or chain?)"
        ) from exc
    except Web3RPCError as exc:
        raise ChainRequestFailed(f"{_label(endpoint)} answered with an error: {_rpc_message(exc)}") from exc
    except Web3Exception as exc:
        raise ChainRequestFailed(f"{_label(endpoint)}: {type(exc).__name__}: {exc}") from exc


def _label(endpoint: str | None) -> str:
    if endpoint and "://" in endpoint:
        return redact_url(endpoint)
    return endpoint or "the RPC endpoint"


def _rpc_message(exc: Web3RPCError) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return str(message)[:300]


def connect(rpc_url: str, timeout: float = 10.0, deployment: Deployment | None = None) -> Web3:
    """A Web3 for `rpc_url` that has answered once; checks the chain id against `deployment`."""
    w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
    chain_id = call_chain(lambda: w3.eth.chain_id, rpc_url)
    if deployment is not None and chain_id != deployment.chain_id:
        raise WrongChain(
            f"{redact_url(rpc_url)} serves chain {chain_id}, the deployment is on chain {deployment.chain_id}"
        )
    return w3
