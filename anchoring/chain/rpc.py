"""Connecting to an EVM JSON-RPC endpoint, with an unreachable endpoint reported as such."""

from __future__ import annotations

from web3 import Web3
from web3.providers import HTTPProvider

from anchoring.chain.deployment import Deployment
from anchoring.errors import ChainUnreachable, WrongChain

# requests/aiohttp/urllib3 raise many types for "nobody answers"; they all derive from OSError.
UNREACHABLE_ERRORS: tuple[type[BaseException], ...] = (OSError,)
try:  # requests' exceptions do not all derive from OSError
    import requests

    UNREACHABLE_ERRORS += (requests.exceptions.ConnectionError, requests.exceptions.Timeout)
except ImportError:  # pragma: no cover
    pass


def connect(rpc_url: str, timeout: float = 10.0, deployment: Deployment | None = None) -> Web3:
    """A Web3 for `rpc_url` that has answered once; checks the chain id against `deployment`."""
    w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
    chain_id = call_chain(lambda: w3.eth.chain_id, rpc_url)
    if deployment is not None and chain_id != deployment.chain_id:
        raise WrongChain(f"{rpc_url} serves chain {chain_id}, the deployment is on chain {deployment.chain_id}")
    return w3


def call_chain(fn, rpc_url: str = "the RPC endpoint"):
    """Run `fn()` and turn transport failures into ChainUnreachable."""
    try:
        return fn()
    except UNREACHABLE_ERRORS as exc:
        raise ChainUnreachable(f"cannot reach {rpc_url}: {exc.__class__.__name__}: {exc}") from exc
