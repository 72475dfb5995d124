"""The learner's proof bundle, format ``credreg-bundle/2`` (schema: ``schema-v2.json`` beside this module).

Since CredentialAnchor 2 an anchor is namespaced by its issuer, so each inclusion names the contract version
and the issuer whose record to read. The credential is held exactly as issued (a signed W3C VC, a VC-JWT or
SD-JWT string, or an unsigned credential with its salt) and ``digestRule`` says how the digest is computed
from it (see :mod:`anchoring.scheme.digest`). A joint credential carries one inclusion per co-issuer.

:meth:`ProofBundle.load` validates against the JSON Schema, then what a schema cannot: EIP-55 checksums, the
salt present exactly when the rule needs one, the credential canonicalisable and, unless
``check_integrity=False``, the digest recomputed and every proof folding to its root. Every failure is a
:class:`BundleFormatError` naming the field (``anchors[0].txHash``).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from anchoring.bundle.model import Inclusion
from anchoring.bundle.v1 import BundleFormatError, _error_field
from anchoring.scheme.digest import DigestRule, digest_of
from anchoring.scheme.encoding import from_hex, is_checksum_address, to_checksum_address, to_hex
from anchoring.scheme.jcs import CanonicalizationError, canonicalize
from anchoring.scheme.merkle import verify_proof

if TYPE_CHECKING:  # imported when a full check runs (see _validator)
    import jsonschema


__all__ = ["BUNDLE_FORMAT", "ProofBundle", "bundle_schema"]

BUNDLE_FORMAT = "credreg-bundle/2"
_BYTES32_HEX = re.compile(r"0x[0-9a-f]{64}")


@lru_cache(maxsize=1)
def bundle_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of format 2, shipped as package data."""
    text = resources.files("anchoring.bundle").joinpath("schema-v2.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    import jsonschema  # on the first bundle that needs the full check: the common case never does (50 ms)

    return jsonschema.Draft202012Validator(bundle_schema())


def dump_inclusion(inc: Inclusion) -> dict[str, Any]:
    return {
        "root": to_hex(inc.root),
        "proof": [to_hex(p) for p in inc.proof],
        "chainId": inc.chain_id,
        "contract": inc.contract,
        "contractVersion": inc.contract_version or "",
        "txHash": to_hex(inc.tx_hash),
        "blockNumber": inc.block_number,
        "issuer": inc.issuer,
        "anchoredAt": inc.anchored_at,
    }


def _load_inclusion(obj: dict[str, Any]) -> Inclusion:
    return Inclusion(
        root=from_hex(obj["root"]),
        proof=tuple(from_hex(p) for p in obj["proof"]),
        chain_id=obj["chainId"],
        contract=obj["contract"],
        contract_version=obj["contractVersion"],
        tx_hash=from_hex(obj["txHash"]),
        block_number=obj["blockNumber"],
        issuer=obj["issuer"],
        anchored_at=obj["anchoredAt"],
    )


@dataclass(frozen=True, slots=True)
class ProofBundle:
    credential: dict[str, Any] | str
    digest_rule: DigestRule
    digest: bytes
    inclusions: tuple[Inclusion, ...]
    salt: bytes | None = None
    verification_methods: tuple[dict[str, Any], ...] = ()
    format: str = field(default=BUNDLE_FORMAT)

    @property
    def root(self) -> bytes:
        """The first inclusion's root (the only one, unless the credential was issued jointly)."""
        return self.inclusions[0].root

    @property
    def proof(self) -> tuple[bytes, ...]:
        return self.inclusions[0].proof

    # ------------------------------------------------------------------ output
    def dump(self) -> dict[str, Any]:
        """The bundle as a JSON-ready dict (validated: a bundle that would not load is never emitted)."""
        obj: dict[str, Any] = {
            "format": self.format,
            "credential": copy.deepcopy(self.credential),
            "digestRule": self.digest_rule.value,
            "digest": to_hex(self.digest),
            "anchors": [dump_inclusion(i) for i in self.inclusions],
        }
        if self.salt is not None:
            obj["salt"] = to_hex(self.salt)
        if self.verification_methods:
            obj["verificationMethods"] = [copy.deepcopy(vm) for vm in self.verification_methods]
        validate(obj, check_integrity=False)
        return obj

    def dumps(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.dump(), indent=indent, ensure_ascii=False, allow_nan=False) + (
            "\n" if indent is not None else ""
        )

    # ------------------------------------------------------------------ input
    @classmethod
    def load(cls, obj: Any, *, check_integrity: bool = True) -> ProofBundle:
        """Validate a parsed bundle (schema + semantics) and return it; raises :class:`BundleFormatError`."""
        validate(obj, check_integrity=check_integrity)
        return cls(
            credential=copy.deepcopy(obj["credential"]),
            digest_rule=DigestRule(obj["digestRule"]),
            digest=from_hex(obj["digest"]),
            inclusions=tuple(_load_inclusion(a) for a in obj["anchors"]),
            salt=from_hex(obj["salt"]) if "salt" in obj else None,
            verification_methods=tuple(copy.deepcopy(obj.get("verificationMethods", []))),
            format=obj["format"],
        )


_KEYS = frozenset(("format", "credential", "digestRule", "digest", "anchors"))
_OPTIONAL = frozenset(("salt", "verificationMethods"))
_INCLUSION_KEYS = frozenset(
    (
        "root",
        "proof",
        "chainId",
        "contract",
        "contractVersion",
        "txHash",
        "blockNumber",
        "issuer",
        "anchoredAt",
    )
)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_VERSION = re.compile(r"[0-9]+(\.[0-9]+){0,2}")
_UINT64_MAX = 2**64 - 1


@lru_cache(maxsize=4096)
def _checksummed(address: str) -> bool:
    return is_checksum_address(address)  # a batch of bundles names the same few addresses over and over


def well_formed(obj: Any) -> bool:
    """True when `obj` passes the JSON Schema and the field checks of :meth:`ProofBundle.load`, decided without
    jsonschema (about 2 ms a bundle). At least as strict as the schema; False only means "run the full
    validation", which names the bad field. The credential itself is left to canonicalisation."""
    if (
        type(obj) is not dict
        or obj.get("format") != BUNDLE_FORMAT
        or not _KEYS <= obj.keys() <= _KEYS | _OPTIONAL
    ):
        return False
    rule, credential, anchors = obj["digestRule"], obj["credential"], obj["anchors"]
    if rule not in ("salted-jcs", "jcs", "compact") or (rule == "salted-jcs") != ("salt" in obj):
        return False
    if (rule == "compact") != (type(credential) is str) or (type(credential) is str and not credential):
        return False
    if type(credential) is not str and type(credential) is not dict:
        return False
    if "verificationMethods" in obj:
        vms = obj["verificationMethods"]
        if type(vms) is not list or len(vms) > 16 or any(type(v) is not dict for v in vms):
            return False
    if type(anchors) is not list or not 1 <= len(anchors) <= 16:
        return False
    hexes = [obj["digest"]] + ([obj["salt"]] if "salt" in obj else [])
    seen = set()
    for a in anchors:
        if type(a) is not dict or a.keys() != _INCLUSION_KEYS:
            return False
        proof = a["proof"]
        if type(proof) is not list or len(proof) > 64:
            return False
        hexes += [a["root"], a["txHash"], *proof]
        for key, low in (("chainId", 1), ("blockNumber", 0), ("anchoredAt", 0)):
            value = a[key]
            if type(value) is not int or not low <= value <= _UINT64_MAX:
                return False
        version = a["contractVersion"]
        if type(version) is not str or not _VERSION.fullmatch(version):
            return False
        for key in ("contract", "issuer"):
            value = a[key]
            if type(value) is not str or not _ADDRESS.fullmatch(value) or not _checksummed(value):
                return False
        if (a["contract"], a["issuer"]) in seen:
            return False
        seen.add((a["contract"], a["issuer"]))
    return all(type(v) is str and _BYTES32_HEX.fullmatch(v) for v in hexes)


def validate(obj: Any, *, check_integrity: bool) -> None:
    if not isinstance(obj, dict):
        raise BundleFormatError("", f"a bundle must be a JSON object, got {type(obj).__name__}")
    if not well_formed(obj):
        _validate_fields(obj)
    _validate_content(obj, check_integrity=check_integrity)


def _validate_fields(obj: dict[str, Any]) -> None:
    """Schema and field checks that name the bad field (the slow path of :func:`well_formed`)."""
    errors = list(_validator().iter_errors(obj))
    if errors:
        err = max(errors, key=lambda e: len(e.absolute_path))
        raise BundleFormatError(_error_field(err), err.message)
    rule = DigestRule(obj["digestRule"])
    if (rule == DigestRule.SALTED_JCS) != ("salt" in obj):
        raise BundleFormatError(
            "salt",
            "required with digestRule salted-jcs"
            if rule == DigestRule.SALTED_JCS
            else f"not used with digestRule {rule.value}: remove it",
        )
    if (rule == DigestRule.COMPACT) != isinstance(obj["credential"], str):
        raise BundleFormatError(
            "credential",
            "digestRule compact needs a compact serialisation (a string); "
            "the other rules a credential JSON object",
        )
    hex_fields = [("digest", obj["digest"])] + ([("salt", obj["salt"])] if "salt" in obj else [])
    seen_issuers = set()
    for i, a in enumerate(obj["anchors"]):
        where = f"anchors[{i}]"
        hex_fields += [(f"{where}.root", a["root"]), (f"{where}.txHash", a["txHash"])]
        hex_fields += [(f"{where}.proof[{j}]", p) for j, p in enumerate(a["proof"])]
        for key in ("chainId", "blockNumber", "anchoredAt"):
            if type(a[key]) is not int:  # JSON Schema counts 1.0 as an integer; we do not
                raise BundleFormatError(f"{where}.{key}", f"{a[key]!r} must be an integer without fraction")
        for key in ("contract", "issuer"):
            if not is_checksum_address(a[key]):
                raise BundleFormatError(
                    f"{where}.{key}",
                    f"{a[key]} is not an EIP-55 checksummed address (expected {_checksum_or_none(a[key])})",
                )
        key_pair = (a["contract"], a["issuer"])
        if key_pair in seen_issuers:
            raise BundleFormatError(
                f"{where}.issuer", "two inclusions of the same issuer in the same contract"
            )
        seen_issuers.add(key_pair)
    for fld, value in hex_fields:  # JSON Schema's "$" lets a trailing newline through: check whole
        if not _BYTES32_HEX.fullmatch(value):
            raise BundleFormatError(fld, f"{value!r:.80} is not 0x followed by 64 lower-case hex digits")


def _validate_content(obj: dict[str, Any], *, check_integrity: bool) -> None:
    rule = DigestRule(obj["digestRule"])
    canonical = None
    if isinstance(obj["credential"], dict):
        try:
            canonical = canonicalize(obj["credential"])
        except CanonicalizationError as exc:
            fld = "credential" + ("." + exc.path if exc.path and not exc.path.startswith("[") else exc.path)
            raise BundleFormatError(fld, exc.reason) from None
    if not check_integrity:
        return
    salt = from_hex(obj["salt"]) if "salt" in obj else None
    digest = from_hex(obj["digest"])
    if digest_of(rule, obj["credential"], salt, canonical) != digest:
        raise BundleFormatError(
            "digest",
            f"does not equal the {rule.value} digest of the credential: credential, salt or digest altered",
        )
    for i, a in enumerate(obj["anchors"]):
        if not verify_proof(from_hex(a["root"]), digest, [from_hex(p) for p in a["proof"]]):
            raise BundleFormatError(f"anchors[{i}].proof", "does not lead from the digest's leaf to root")


def _checksum_or_none(value: str) -> str | None:
    try:
        return to_checksum_address(value)
    except ValueError:
        return None


def merge(bundles: list[Any]) -> dict[str, Any]:
    """One bundle from the bundles several co-issuers' nodes hand out for the same signed credential (a joint
    credential, :mod:`anchoring.verify.joint`): the same credential, digest rule and digest, every inclusion once.
    Raises BundleFormatError naming the bundle that differs."""
    if not bundles:
        raise BundleFormatError("", "no bundles to merge")
    loaded = [ProofBundle.load(b) for b in bundles]
    first = loaded[0]
    inclusions: list[Inclusion] = []
    methods: list[dict[str, Any]] = []
    for i, b in enumerate(loaded):
        if (b.digest_rule, b.digest) != (first.digest_rule, first.digest):
            raise BundleFormatError(
                f"bundles[{i}].digest", "another credential: a merge needs the same digest"
            )
        for inc in b.inclusions:
            if inc not in inclusions:
                inclusions.append(inc)
        methods += [vm for vm in b.verification_methods if vm not in methods]
    return ProofBundle(
        credential=first.credential,
        digest_rule=first.digest_rule,
        digest=first.digest,
        inclusions=tuple(inclusions),
        salt=first.salt,
        verification_methods=tuple(methods),
    ).dump()
