"""W3C Bitstring Status List, the verifier's side: encoding, decoding, bits, and the check of a served list against its on-chain hash."""

from __future__ import annotations

import base64
import gzip
import io
from dataclasses import dataclass
from typing import Any, Protocol

from anchoring.chain.records import StatusListRecord
from anchoring.scheme.encoding import to_hex
from anchoring.scheme.keccak import keccak256

MIN_LIST_BITS = 131_072  # 16 KiB: the spec's minimum, for herd privacy


# ------------------------------------------------------------------------------------------- encoding
def encode_bits(bits: bytes | bytearray) -> str:
    """The spec's encodedList: ``"u"`` + base64url(no padding) of gzip(bitstring)."""
    if len(bits) * 8 < MIN_LIST_BITS:
        raise ValueError(f"a bitstring status list has at least {MIN_LIST_BITS} entries")
    compressed = gzip.compress(bytes(bits), compresslevel=9, mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode_list(encoded: str, *, max_bytes: int = 16 * 1024 * 1024) -> bytes:
    """The bitstring of an encodedList (Multibase ``u`` prefix required); ValueError when malformed."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise ValueError("encodedList must be Multibase base64url (prefix 'u')")
    body = encoded[1:]
    if "=" in body or any(c in body for c in "+/"):
        raise ValueError("encodedList must be base64url without padding")
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"encodedList is not base64url: {exc}") from None
    decoder = gzip.GzipFile(fileobj=io.BytesIO(compressed))
    try:
        bits = decoder.read(max_bytes + 1)
    except (OSError, EOFError) as exc:
        raise ValueError(f"encodedList is not GZIP: {exc}") from None
    if len(bits) > max_bytes:
        raise ValueError("decoded status list too large")
    if len(bits) * 8 < MIN_LIST_BITS:
        raise ValueError(f"decoded status list has {len(bits) * 8} entries, fewer than {MIN_LIST_BITS}")
    return bits


def bitstring(size_bits: int, set_indexes: list[int] | set[int]) -> bytearray:
    out = bytearray(size_bits // 8)
    for i in set_indexes:
        out[i // 8] |= 0x80 >> (i % 8)
    return out


def get_bit(bits: bytes, index: int) -> bool:
    if not 0 <= index < len(bits) * 8:
        raise IndexError(f"status list index {index} out of range")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def list_id(url: str) -> bytes:
    return keccak256(url.encode("utf-8"))


def list_hash(encoded: str) -> bytes:
    return keccak256(encoded.encode("ascii"))


# ------------------------------------------------------------------------------------------- checking
@dataclass(frozen=True)
class ListCheck:
    ok: bool
    reason: str
    served_hash: str
    onchain_hash: str | None
    version: int | None


class StatusListSource(Protocol):
    """Where published list hashes are read: a CredentialAnchor reader (``anchoring.chain.contracts``), or the
    verifier's cached chain context adapted to this shape."""

    def status_list_of(self, issuer: str, list_id: bytes) -> StatusListRecord | None: ...


def check_served_list(document: dict[str, Any], anchor: StatusListSource, issuer_address: str) -> ListCheck:
    """Does a served BitstringStatusListCredential match the hash its issuer published on chain?
    ``anchor``: a CredentialAnchor reader (or any :class:`StatusListSource`). A list changed since the last publication
    (at most one publish interval ago) fails with a reason that says so."""
    url = document.get("id")
    encoded = (document.get("credentialSubject") or {}).get("encodedList")
    if not isinstance(url, str) or not isinstance(encoded, str):
        return ListCheck(
            False, "not a BitstringStatusListCredential (id / encodedList missing)", "", None, None
        )
    decode_list(encoded)  # raises ValueError when malformed
    served = to_hex(list_hash(encoded))
    record = anchor.status_list_of(issuer_address, list_id(url))
    if record is None:
        return ListCheck(
            False, f"no status list published on chain by {issuer_address} for {url}", served, None, None
        )
    onchain = to_hex(record.list_hash)
    if onchain != served:
        return ListCheck(
            False,
            f"served list differs from version {record.version} published on chain "
            f"(changed since, or tampered)",
            served,
            onchain,
            record.version,
        )
    return ListCheck(
        True, f"matches version {record.version} published on chain", served, onchain, record.version
    )


def entry_is_set(document: dict[str, Any], entry: dict[str, Any]) -> bool:
    """A verifier's read of one ``BitstringStatusListEntry`` against the fetched list credential: True when
    the credential is revoked (or suspended, by the list's purpose). ValueError when they do not belong
    together or the list is malformed."""
    subject = document.get("credentialSubject") or {}
    if entry.get("statusListCredential") != document.get("id"):
        raise ValueError("the entry points to another status list")
    if entry.get("statusPurpose") != subject.get("statusPurpose"):
        raise ValueError("the entry's statusPurpose differs from the list's")
    try:
        index = int(entry["statusListIndex"])
    except (KeyError, TypeError, ValueError):
        raise ValueError("statusListIndex must be an integer string") from None
    encoded = subject.get("encodedList")
    if not isinstance(encoded, str):
        raise ValueError("the list has no encodedList")
    return get_bit(decode_list(encoded), index)
