"""The learner's proof bundle, format credreg-bundle/1."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from anchoring.bundle.model import Inclusion
from anchoring.errors import FormatError
from anchoring.scheme.digest import DigestRule, credential_digest
from anchoring.scheme.encoding import _ADDRESS, from_hex, is_checksum_address, to_checksum_address, to_hex
from anchoring.scheme.jcs import CanonicalizationError, canonicalize
from anchoring.scheme.merkle import MerkleTreeError, verify_proof
from anchoring.scheme.strict_json import DuplicateKey, NonJsonConstant, strict_loads

if TYPE_CHECKING:  # imported when a full check runs (see _validator)
    import jsonschema
    from jsonschema.exceptions import ValidationError


BUNDLE_FORMAT = "credreg-bundle/1"


_BYTES32_HEX = re.compile(r"0x[0-9a-f]{64}")


class BundleFormatError(FormatError):
    """A bundle is malformed.  ``field`` is the path of the offending field (``""`` for the document)."""

    document = "<bundle>"


@lru_cache(maxsize=1)
def bundle_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) shipped as package data."""
    text = resources.files("anchoring.bundle").joinpath("schema-v1.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    import jsonschema  # on the first bundle that needs the full check: the common case never does (50 ms)

    return jsonschema.Draft202012Validator(bundle_schema())


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where and when the root was anchored."""

    chain_id: int
    contract: str  # EIP-55
    tx_hash: bytes  # 32 bytes
    block_number: int
    issuer: str  # EIP-55, the address that called anchor()
    anchored_at: int  # block.timestamp, Unix seconds UTC

    def dump(self) -> dict[str, Any]:
        return {
            "chainId": self.chain_id,
            "contract": self.contract,
            "txHash": to_hex(self.tx_hash),
            "blockNumber": self.block_number,
            "issuer": self.issuer,
            "anchoredAt": self.anchored_at,
        }


@dataclass(frozen=True, slots=True)
class ProofBundle:
    credential: dict[str, Any]
    salt: bytes
    digest: bytes
    proof: tuple[bytes, ...]
    root: bytes
    anchor: Anchor
    format: str = field(default=BUNDLE_FORMAT)

    @property
    def digest_rule(self) -> DigestRule:
        return DigestRule.SALTED_JCS

    @property
    def inclusions(self) -> tuple[Inclusion, ...]:
        a = self.anchor
        return (
            Inclusion(
                self.root,
                self.proof,
                a.chain_id,
                a.contract,
                None,
                a.tx_hash,
                a.block_number,
                a.issuer,
                a.anchored_at,
            ),
        )

    @property
    def verification_methods(self) -> tuple[dict[str, Any], ...]:
        return ()

    # ------------------------------------------------------------------ output
    def dump(self) -> dict[str, Any]:
        """The bundle as a JSON-ready dict (validated: a bundle that would not load is never emitted)."""
        obj = {
            "format": self.format,
            "credential": copy.deepcopy(self.credential),
            "salt": to_hex(self.salt),
            "digest": to_hex(self.digest),
            "proof": [to_hex(p) for p in self.proof],
            "root": to_hex(self.root),
            "anchor": self.anchor.dump(),
        }
        _validate(obj, check_integrity=False)
        return obj

    def dumps(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.dump(), indent=indent, ensure_ascii=False, allow_nan=False) + (
            "\n" if indent is not None else ""
        )

    # ------------------------------------------------------------------ input
    @classmethod
    def load(cls, obj: Any, *, check_integrity: bool = True) -> ProofBundle:
        """Validate a parsed bundle (schema + semantics) and return it; raises :class:`BundleFormatError`."""
        _validate(obj, check_integrity=check_integrity)
        a = obj["anchor"]
        return cls(
            credential=copy.deepcopy(obj["credential"]),
            salt=from_hex(obj["salt"]),
            digest=from_hex(obj["digest"]),
            proof=tuple(from_hex(p) for p in obj["proof"]),
            root=from_hex(obj["root"]),
            anchor=Anchor(
                chain_id=a["chainId"],
                contract=a["contract"],
                tx_hash=from_hex(a["txHash"]),
                block_number=a["blockNumber"],
                issuer=a["issuer"],
                anchored_at=a["anchoredAt"],
            ),
            format=obj["format"],
        )

    @classmethod
    def loads(cls, text: str | bytes, *, check_integrity: bool = True) -> ProofBundle:
        """Parse JSON text strictly (no duplicate keys, no NaN/Infinity) and :meth:`load` it."""
        try:
            obj = strict_loads(text)
        except DuplicateKey as exc:
            raise BundleFormatError(exc.key, f"duplicate key {exc.key!r}") from None
        except NonJsonConstant as exc:
            raise BundleFormatError("", str(exc)) from None
        except (ValueError, TypeError) as exc:
            raise BundleFormatError("", f"not valid JSON: {exc}") from None
        return cls.load(obj, check_integrity=check_integrity)


def _path(parts: Any) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out = f"{out}.{p}" if out else str(p)
    return out


def _error_field(err: ValidationError) -> str:
    base = list(err.absolute_path)
    if err.validator == "required":
        required = err.validator_value if isinstance(err.validator_value, list) else []
        missing = [k for k in required if isinstance(err.instance, dict) and k not in err.instance]
        if missing:
            return _path([*base, missing[0]])
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {})) if isinstance(err.schema, dict) else set()
        extra = sorted(k for k in err.instance if k not in allowed)
        if extra:
            return _path([*base, extra[0]])
    return _path(base)


def _validate_fields(obj: dict[str, Any]) -> None:
    """Schema and field checks that name the bad field (the slow path of :func:`well_formed`)."""
    errors = sorted(_validator().iter_errors(obj), key=lambda e: (len(e.absolute_path), _error_field(e)))
    if errors:
        # deepest-first is most specific; sort is by depth ascending, so take the last of the deepest
        err = max(errors, key=lambda e: len(e.absolute_path))
        fld = _error_field(err)
        raise BundleFormatError(fld, f"{err.message}")
    anchor = obj["anchor"]
    # JSON Schema's "$" (Python re semantics) lets a trailing newline through: re-check every hex field whole.
    hex_fields = [
        ("salt", obj["salt"]),
        ("digest", obj["digest"]),
        ("root", obj["root"]),
        ("anchor.txHash", anchor["txHash"]),
    ] + [(f"proof[{i}]", p) for i, p in enumerate(obj["proof"])]
    for fld, value in hex_fields:
        if not _BYTES32_HEX.fullmatch(value):
            raise BundleFormatError(fld, f"{value!r:.80} is not 0x followed by 64 lower-case hex digits")
    for key in ("contract", "issuer"):
        if not _ADDRESS.fullmatch(anchor[key]):
            raise BundleFormatError(f"anchor.{key}", f"{anchor[key]!r:.80} is not a 0x address")
    for key in ("chainId", "blockNumber", "anchoredAt"):
        if type(anchor[key]) is not int:  # JSON Schema counts 1.0 as an integer; we do not
            raise BundleFormatError(f"anchor.{key}", f"{anchor[key]!r} must be an integer without fraction")
    for key in ("contract", "issuer"):
        if not is_checksum_address(anchor[key]):
            raise BundleFormatError(
                f"anchor.{key}",
                f"{anchor[key]} is not an EIP-55 checksummed address "
                f"(expected {to_checksum_address(anchor[key])})",
            )


_BUNDLE_KEYS = frozenset(("format", "credential", "salt", "digest", "proof", "root", "anchor"))


_ANCHOR_KEYS = frozenset(("chainId", "contract", "txHash", "blockNumber", "issuer", "anchoredAt"))


_UINT64_MAX = 2**64 - 1


_MAX_PROOF_LENGTH = 64  # the schema's maxItems


@lru_cache(maxsize=4096)
def _checksummed(address: str) -> bool:
    return is_checksum_address(address)  # a batch of bundles names the same few addresses over and over


def well_formed(obj: Any) -> bool:
    """True when `obj` passes the JSON Schema and the field checks of :meth:`ProofBundle.load` (hex written
    whole, integers without fraction, EIP-55 addresses), decided without jsonschema, which costs about 2 ms
    a bundle. At least as strict as the schema; False only means "run the full validation", which names the
    bad field. The credential is not looked into here (canonicalisation checks it)."""
    if type(obj) is not dict or obj.keys() != _BUNDLE_KEYS or obj["format"] != BUNDLE_FORMAT:
        return False
    anchor, proof = obj["anchor"], obj["proof"]
    if type(obj["credential"]) is not dict or type(anchor) is not dict or anchor.keys() != _ANCHOR_KEYS:
        return False
    if type(proof) is not list or len(proof) > _MAX_PROOF_LENGTH:
        return False
    for value in (obj["salt"], obj["digest"], obj["root"], anchor["txHash"], *proof):
        if type(value) is not str or not _BYTES32_HEX.fullmatch(value):
            return False
    for key, low in (("chainId", 1), ("blockNumber", 0), ("anchoredAt", 0)):
        value = anchor[key]
        if type(value) is not int or not low <= value <= _UINT64_MAX:
            return False
    for key in ("contract", "issuer"):
        value = anchor[key]
        if type(value) is not str or not _ADDRESS.fullmatch(value) or not _checksummed(value):
            return False
    return True


def _validate(obj: Any, *, check_integrity: bool) -> None:
    if not isinstance(obj, dict):
        raise BundleFormatError("", f"a bundle must be a JSON object, got {type(obj).__name__}")
    if not well_formed(obj):
        _validate_fields(obj)
    try:
        canonical = canonicalize(obj["credential"])
    except CanonicalizationError as exc:
        fld = "credential" + ("." + exc.path if exc.path and not exc.path.startswith("[") else exc.path)
        raise BundleFormatError(fld, exc.reason) from None
    if not check_integrity:
        return
    salt = from_hex(obj["salt"])
    digest = from_hex(obj["digest"])
    if credential_digest(salt, canonical) != digest:
        raise BundleFormatError(
            "digest", "does not equal keccak256(salt || JCS(credential)): credential, salt or digest altered"
        )
    try:
        ok = verify_proof(from_hex(obj["root"]), digest, [from_hex(p) for p in obj["proof"]])
    except MerkleTreeError as exc:  # pragma: no cover - schema guarantees 32-byte values
        raise BundleFormatError("proof", str(exc)) from None
    if not ok:
        raise BundleFormatError("proof", "does not lead from the digest's leaf to root")
