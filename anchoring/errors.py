"""Chain errors a caller can act on: unreachable, reverted (with the contract's custom error decoded), timed out."""

from __future__ import annotations

from typing import Any


class ChainError(Exception):
    """Base class of everything the chain toolkit raises."""


class ChainUnreachable(ChainError):
    """The RPC endpoint did not answer (connection refused, DNS, timeout)."""


class WrongChain(ChainError):
    """The endpoint answers for another chain id than the deployment file names."""


class TransactionTimeout(ChainError):
    """A transaction was not mined, or not confirmed deep enough, in time."""


class NonceConsumed(ChainError):
    """Another transaction took this nonce: the signed transaction can never be mined; sign a new one."""


class TransactionDropped(ChainError):
    """A transaction that was seen is no longer known to the node (dropped or re-orged away)."""


class ContractRevert(ChainError):
    """A call or transaction reverted; `error` is the custom error's name when the ABI knows it."""

    def __init__(self, error: str, params: dict[str, Any] | None = None, raw: bytes = b""):
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








