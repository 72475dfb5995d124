"""The library's errors, under one base: format errors (malformed input, a ``ValueError``) and chain errors
(the chain could not answer, refused, or answered for another chain).

A verifier turns a :class:`FormatError` into a ``fail`` (the input is bad) and a :class:`ChainError` into an
``error`` (the question could not be asked); anything else is a programming error and is not caught.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AnchoringError",
    "ChainError",
    "ChainRequestFailed",
    "ChainUnreachable",
    "ContractRevert",
    "FormatError",
    "InsufficientFunds",
    "NonceConsumed",
    "ResolutionError",
    "TransactionDropped",
    "TransactionTimeout",
    "WrongChain",
]


class AnchoringError(Exception):
    """Base of every error this library raises on purpose."""


class FormatError(AnchoringError, ValueError):
    """Input that is not what the scheme allows. ``field`` names the offending field where known
    (``credentialSubject.score``, ``anchor.txHash``; ``""`` for the document itself)."""

    #: how a message names the whole document when ``field`` is empty (None: the reason alone)
    document: str | None = "<document>"

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        if field or self.document is not None:
            super().__init__(f"{field or self.document}: {reason}")
        else:
            super().__init__(reason)


class ResolutionError(AnchoringError):
    """A document the verifier needs from the web could not be fetched: a did:web DID document, a status list
    credential, a node's proof (unreachable, timeout, HTTP error status, not JSON). Reported as ``error`` (we
    could not decide), never as ``fail``. ``url`` names what was asked for."""

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"{url}: {reason}")


class ChainError(AnchoringError):
    """Base of everything the chain toolkit raises: the chain could not be asked, or said no."""


class ChainUnreachable(ChainError):
    """The RPC endpoint did not answer (connection refused, DNS, timeout)."""


class ChainRequestFailed(ChainError):
    """The endpoint answered with an error (a JSON-RPC error, an empty result where code was expected)."""


class WrongChain(ChainError):
    """The endpoint answers for another chain id than the deployment file names, or a bundle names a contract
    the deployment does not list."""


class TransactionTimeout(ChainError):
    """A transaction was not mined, or not confirmed deep enough, in time."""


class NonceConsumed(ChainError):
    """Another transaction took this nonce: the signed transaction can never be mined; sign a new one."""


class TransactionDropped(ChainError):
    """A transaction that was seen is no longer known to the node (dropped or re-orged away)."""


class InsufficientFunds(ChainError):
    """The sending key cannot pay for a transaction. One line names the address, its balance, what the
    transaction needs at most, and what to do."""

    def __init__(self, address: str, balance_wei: int, needed_wei: int, chain_id: int | None = None) -> None:
        self.address = address
        self.balance_wei = balance_wei
        self.needed_wei = needed_wei
        self.chain_id = chain_id
        where = f" on chain {chain_id}" if chain_id is not None else ""
        super().__init__(
            f"{address} has {_eth(balance_wei)} ETH{where}, the transaction needs up to {_eth(needed_wei)} ETH: "
            f"fund it (on a dev chain: credreg chain fund {address}), then run the command again"
        )


def _eth(wei: int) -> str:
    text = f"{wei / 10**18:.6f}".rstrip("0").rstrip(".")
    return text if text != "0" or wei == 0 else f"{wei} wei"


class ContractRevert(ChainError):
    """A call or transaction reverted; `error` is the custom error's name when the ABI knows it."""

    def __init__(self, error: str, params: dict[str, Any] | None = None, raw: bytes = b"") -> None:
        self.error = error
        self.params = params or {}
        self.raw = raw
        super().__init__(str(self))

    def __str__(self) -> str:
        if not self.params:
            return self.error
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.params.items())
        return f"{self.error}({shown})"


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)
