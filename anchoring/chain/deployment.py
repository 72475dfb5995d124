"""Where the contracts live on a chain: the file a node (or a verifier) reads to find them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from eth_utils import is_address, to_checksum_address


class DeploymentFileError(ValueError):
    """The deployment file is missing, unreadable, or a field is wrong (named in the message)."""


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    issuer_registry: str
    credential_anchor: str
    deployment_block: int

    @classmethod
    def from_dict(cls, data: dict) -> Deployment:
        if not isinstance(data, dict):
            raise DeploymentFileError("deployment must be a JSON object")
        fields = {}
        for name in ("chain_id", "deployment_block"):
            value = data.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise DeploymentFileError(f"{name}: expected a non-negative integer, got {value!r}")
            fields[name] = value
        for name in ("issuer_registry", "credential_anchor"):
            value = data.get(name)
            if not isinstance(value, str) or not is_address(value):
                raise DeploymentFileError(f"{name}: expected a 0x address, got {value!r}")
            fields[name] = to_checksum_address(value)
        return cls(**fields)

    @classmethod
    def load(cls, path: str | Path) -> Deployment:
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise DeploymentFileError(f"deployment file not found: {path}") from None
        except json.JSONDecodeError as exc:
            raise DeploymentFileError(f"deployment file {path} is not JSON: {exc}") from None
        return cls.from_dict(data)

    def to_dict(self) -> dict:
        return asdict(self)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        tmp.replace(path)
