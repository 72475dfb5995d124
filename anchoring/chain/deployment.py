"""Where the contracts live on a chain: the file a node (or a verifier) reads to find them.

    {"chain_id": 31337, "version": "2.0.0",
     "issuer_registry": "0x...", "credential_anchor": "0x...", "deployment_block": 12,
     "previous": [{"version": "1", "issuer_registry": "0x...", "credential_anchor": "0x...",
                   "deployment_block": 1}]}

The top level names the current contract set (the one a node writes to); ``previous`` lists older sets that
verifiers still read, so bundles anchored under an earlier contract version keep verifying. A file without
``version`` describes a version-1 deployment (the format before versions were recorded).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anchoring.chain.abi_codec import checksum_address, is_address
from anchoring.errors import FormatError

__all__ = ["CURRENT_VERSION", "ContractSet", "Deployment", "DeploymentFileError"]

#: the contract version this library writes to (and deploys)
CURRENT_VERSION = "2.0.0"
#: versions this library can read
READABLE_VERSIONS = ("1", CURRENT_VERSION)


class DeploymentFileError(FormatError):
    """The deployment file is missing, unreadable, or a field is wrong (named in the message)."""

    document = None

    def __init__(self, message: str) -> None:
        super().__init__("", message)


@dataclass(frozen=True)
class ContractSet:
    """One deployed pair of contracts: an IssuerRegistry and the CredentialAnchor bound to it."""

    version: str
    issuer_registry: str
    credential_anchor: str
    deployment_block: int

    @property
    def major(self) -> int:
        return int(self.version.split(".", 1)[0])

    @classmethod
    def from_dict(cls, data: Any, where: str = "") -> ContractSet:
        if not isinstance(data, dict):
            raise DeploymentFileError(f"{where or 'deployment'}: expected a JSON object")
        prefix = f"{where}." if where else ""
        version = data.get("version", "1")
        if not isinstance(version, str) or version not in READABLE_VERSIONS:
            raise DeploymentFileError(
                f"{prefix}version: {version!r} is not a contract version this verifier "
                f"reads ({', '.join(READABLE_VERSIONS)})"
            )
        block = data.get("deployment_block")
        if not isinstance(block, int) or isinstance(block, bool) or block < 0:
            raise DeploymentFileError(
                f"{prefix}deployment_block: expected a non-negative integer, got {block!r}"
            )
        addresses = {}
        for name in ("issuer_registry", "credential_anchor"):
            value = data.get(name)
            if not isinstance(value, str) or not is_address(value):
                raise DeploymentFileError(f"{prefix}{name}: expected a 0x address, got {value!r}")
            addresses[name] = checksum_address(value)
        return cls(version, addresses["issuer_registry"], addresses["credential_anchor"], block)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "issuer_registry": self.issuer_registry,
            "credential_anchor": self.credential_anchor,
            "deployment_block": self.deployment_block,
        }


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    issuer_registry: str
    credential_anchor: str
    deployment_block: int
    version: str = CURRENT_VERSION
    previous: tuple[ContractSet, ...] = field(default=())

    @property
    def current(self) -> ContractSet:
        return ContractSet(self.version, self.issuer_registry, self.credential_anchor, self.deployment_block)

    @property
    def contract_sets(self) -> tuple[ContractSet, ...]:
        """The current set first, then the previous ones."""
        return (self.current, *self.previous)

    def set_for_anchor(self, address: str) -> ContractSet | None:
        """The contract set whose CredentialAnchor is at `address` (any case), or None."""
        wanted = address.lower()
        for contracts in self.contract_sets:
            if contracts.credential_anchor.lower() == wanted:
                return contracts
        return None

    def with_previous(self, older: Deployment) -> Deployment:
        """This deployment, remembering `older` (and what it remembered) as previous sets."""
        if older.chain_id != self.chain_id:
            raise DeploymentFileError(
                f"the older deployment is on chain {older.chain_id}, this one on {self.chain_id}"
            )
        known = {c.credential_anchor for c in self.contract_sets}
        extra = tuple(c for c in older.contract_sets if c.credential_anchor not in known)
        return Deployment(
            self.chain_id,
            self.issuer_registry,
            self.credential_anchor,
            self.deployment_block,
            self.version,
            self.previous + extra,
        )

    @classmethod
    def from_dict(cls, data: Any) -> Deployment:
        if not isinstance(data, dict):
            raise DeploymentFileError("deployment must be a JSON object")
        chain_id = data.get("chain_id")
        if not isinstance(chain_id, int) or isinstance(chain_id, bool) or chain_id < 0:
            raise DeploymentFileError(f"chain_id: expected a non-negative integer, got {chain_id!r}")
        current = ContractSet.from_dict(data)
        previous = data.get("previous", [])
        if not isinstance(previous, list):
            raise DeploymentFileError("previous: expected a list of contract sets")
        older = tuple(ContractSet.from_dict(p, f"previous[{i}]") for i, p in enumerate(previous))
        return cls(
            chain_id,
            current.issuer_registry,
            current.credential_anchor,
            current.deployment_block,
            current.version,
            older,
        )

    @classmethod
    def load(cls, path: str | Path) -> Deployment:
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise DeploymentFileError(f"deployment file not found: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise DeploymentFileError(f"deployment file {path} cannot be read: {exc}") from None
        except json.JSONDecodeError as exc:
            raise DeploymentFileError(f"deployment file {path} is not JSON: {exc}") from None
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"chain_id": self.chain_id, **self.current.to_dict()}
        if self.previous:
            out["previous"] = [c.to_dict() for c in self.previous]
        return out

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        tmp.replace(path)
