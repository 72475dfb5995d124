"""Bitstring Status Lists, the database side: lists per issuer and purpose, random entries, bits following the confirmed status."""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from anchoring.signing import add_proof
from anchoring.statuslist import MIN_LIST_BITS, bitstring, encode_bits
from node.auth.credential_keys import can_sign, load_credential_signer
from node.errors import Conflict, Forbidden, NotFound, Unavailable
from node.settings import Settings
from node.storage.models import Issuer, utcnow
from node.storage.revocation_tables import StatusList, StatusListEntry

PURPOSES = ("revocation", "suspension")


#: the credential status that sets a list's bit
PURPOSE_STATUS = {"revocation": "revoked", "suspension": "suspended"}


MAX_FILL = 0.5  # stop allocating when half the list is used: keeps random draws cheap and the herd large


CONTEXT_V2 = "https://www.w3.org/ns/credentials/v2"


@dataclass(frozen=True)
class StatusListConfig:
    """The status-list part of the node's Settings (``CREDREG_STATUS_LIST_*``)."""

    size: int = MIN_LIST_BITS  # bits per list (>= 131,072, a multiple of 8)
    max_age_seconds: int = 60  # Cache-Control max-age of the served list (and its ttl)
    publish_interval_seconds: float = 30.0  # at most one publishStatusList per list per interval
    #: issuers allowed to allocate (names or addresses, comma-separated); empty = every issuer
    issuers: str = ""

    @classmethod
    def from_settings(cls, settings) -> StatusListConfig:
        return cls(
            size=settings.status_list_size,
            max_age_seconds=settings.status_list_max_age_seconds,
            publish_interval_seconds=settings.status_list_publish_interval_seconds,
            issuers=settings.status_list_issuers,
        )

    def allows(self, issuer: Issuer) -> bool:
        allowed = {x.strip().lower() for x in self.issuers.split(",") if x.strip()}
        return not allowed or issuer.name.lower() in allowed or issuer.address.lower() in allowed


# ------------------------------------------------------------------------------------------- lists
def list_url(base_url: str, issuer_address: str, purpose: str) -> str:
    return f"{base_url.rstrip('/')}/v1/status/{issuer_address}/{purpose}"


def get_or_create_list(
    session: Session, issuer: Issuer, purpose: str, base_url: str, config: StatusListConfig
) -> StatusList:
    found = session.exec(
        select(StatusList).where(StatusList.issuer_id == issuer.id, StatusList.purpose == purpose)
    ).first()
    if found is not None:
        return found
    size = max(MIN_LIST_BITS, config.size - config.size % 8)
    assert issuer.id is not None  # a stored issuer
    lst = StatusList(
        issuer_id=issuer.id, purpose=purpose, url=list_url(base_url, issuer.address, purpose), size=size
    )
    try:
        with session.begin_nested():
            session.add(lst)
            session.flush()
    except IntegrityError:  # created concurrently
        return session.exec(
            select(StatusList).where(StatusList.issuer_id == issuer.id, StatusList.purpose == purpose)
        ).one()
    return lst


def entry_json(lst: StatusList, index: int) -> dict:
    return {
        "id": f"{lst.url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": lst.purpose,
        "statusListIndex": str(index),
        "statusListCredential": lst.url,
    }


def allocate(
    session: Session, issuer: Issuer, purposes: list[str], base_url: str, config: StatusListConfig
) -> list[dict]:
    """Reserve one random, unused index per purpose; returns the credentialStatus entries (commits)."""
    if not config.allows(issuer):
        raise Forbidden(
            "status lists are not enabled for this issuer (CREDREG_STATUS_LIST_ISSUERS)",
            [{"pointer": "", "field": "header.Authorization", "message": "issuer not enabled"}],
            slug="status-list-disabled",
            title="Status lists disabled",
        )
    entries = []
    for purpose in purposes:
        lst = get_or_create_list(session, issuer, purpose, base_url, config)
        if lst.allocated >= lst.size * MAX_FILL:
            raise Conflict(
                f"the {purpose} list of this issuer has no free index left",
                [{"pointer": "/purposes", "field": "purposes", "message": "list full"}],
                slug="status-list-full",
                title="Status list full",
            )
        assert lst.id is not None  # stored (flushed) by get_or_create_list
        for _ in range(64):
            index = secrets.randbelow(lst.size)
            try:
                with session.begin_nested():
                    session.add(StatusListEntry(list_id=lst.id, idx=index))
                    session.flush()
                break
            except IntegrityError:
                continue  # taken: draw again
        else:  # pragma: no cover - needs a nearly full list
            raise Unavailable("could not find a free index", slug="status-list-busy", title="Try again")
        session.execute(
            sa.update(StatusList.__table__)
            .where(StatusList.__table__.c.id == lst.id)
            .values(allocated=StatusList.__table__.c.allocated + 1)
        )
        entries.append(entry_json(lst, index))
    session.commit()
    return entries


def allocate_many(
    session: Session, issuer: Issuer, count: int, base_url: str, config: StatusListConfig
) -> list[list[dict]]:
    """``count`` sets of entries (one random, unused index per purpose each) for credentials being issued, in
    one transaction (commits; bulk inserts, not one savepoint per index). An entry whose credential is then
    refused stays allocated and unset: a wasted index, never a wrong status."""
    if count <= 0 or not config.allows(issuer):
        return [[] for _ in range(max(count, 0))]
    per_purpose: list[list[dict]] = []
    t = StatusListEntry.__table__
    for purpose in PURPOSES:
        lst = get_or_create_list(session, issuer, purpose, base_url, config)
        assert lst.id is not None
        if lst.allocated + count > lst.size * MAX_FILL:
            raise Conflict(
                f"the {purpose} list of this issuer has no room for {count} more entries",
                [{"pointer": "", "field": "", "message": "status list full"}],
                slug="status-list-full",
                title="Status list full",
            )
        taken = set(session.execute(sa.select(t.c.idx).where(t.c.list_id == lst.id)).scalars())
        chosen: list[int] = []
        while len(chosen) < count:
            index = secrets.randbelow(lst.size)
            if index not in taken:
                taken.add(index)
                chosen.append(index)
        now = utcnow()
        session.execute(
            sa.insert(t), [{"list_id": lst.id, "idx": i, "bit": False, "allocated_at": now} for i in chosen]
        )
        session.execute(
            sa.update(StatusList.__table__)
            .where(StatusList.__table__.c.id == lst.id)
            .values(allocated=StatusList.__table__.c.allocated + count)
        )
        per_purpose.append([entry_json(lst, i) for i in chosen])
    session.commit()
    return [list(entries) for entries in zip(*per_purpose, strict=True)]


def _status_entries(canonical: bytes) -> list[dict]:
    try:
        if bytes(canonical[:2]) == b"ey":  # a VC-JWT (digest rule compact): its payload is the credential
            from anchoring.signing.vcjwt import decode_vc_jwt

            cred = decode_vc_jwt(bytes(canonical).decode("ascii"))[1]
        else:
            cred = json.loads(canonical)
    except ValueError:
        return []
    status = cred.get("credentialStatus") if isinstance(cred, dict) else None
    if isinstance(status, dict):
        status = [status]
    return [s for s in status or [] if isinstance(s, dict) and s.get("type") == "BitstringStatusListEntry"]


def apply_status(session: Session, issuer_id: int, digest: str, canonical: bytes, status: str) -> int:
    """Set the bits of ``digest``'s entries in the issuer's lists for its new confirmed ``status``
    (valid | suspended | revoked). Links entries on first use. Flushes; returns the number of bits changed."""
    entries = list(session.exec(select(StatusListEntry).where(StatusListEntry.digest == digest)))
    lists = {
        lst.url: lst for lst in session.exec(select(StatusList).where(StatusList.issuer_id == issuer_id))
    }
    by_id = {lst.id: lst for lst in lists.values()}
    if not entries:  # first status change: link the entries the credential carries
        for item in _status_entries(canonical):
            url = item.get("statusListCredential")
            lst = lists.get(url) if isinstance(url, str) else None  # the issuer's JSON: any type may come
            try:
                index = int(item["statusListIndex"])
            except (KeyError, TypeError, ValueError):
                continue
            if lst is None or lst.purpose != item.get("statusPurpose"):
                continue
            entry = session.exec(
                select(StatusListEntry).where(StatusListEntry.list_id == lst.id, StatusListEntry.idx == index)
            ).first()
            if entry is not None and entry.digest in (None, digest):
                entry.digest = digest
                session.add(entry)
                entries.append(entry)
    changed = 0
    for entry in entries:
        lst = by_id.get(entry.list_id)
        if lst is None:
            continue
        bit = status == PURPOSE_STATUS[lst.purpose]
        if entry.bit != bit:
            entry.bit = bit
            session.add(entry)
            lst.revision += 1
            lst.updated_at = utcnow()
            session.add(lst)
            changed += 1
    session.flush()
    return changed


_ENCODED_CACHE: dict[tuple, str] = {}


_cache_lock = threading.Lock()


def encoded_list(session: Session, lst: StatusList) -> str:
    """The current encodedList of ``lst`` (cached per list id and revision)."""
    bind = session.get_bind()
    key = (
        str(bind.engine.url),
        id(bind),
        lst.id,
        lst.revision,
        lst.updated_at,
    )  # several databases in one process
    with _cache_lock:
        if key in _ENCODED_CACHE:
            return _ENCODED_CACHE[key]
    t = StatusListEntry.__table__
    indexes: list[int] = list(
        session.execute(sa.select(t.c.idx).where(t.c.list_id == lst.id, t.c.bit == sa.true())).scalars()
    )
    encoded = encode_bits(bitstring(lst.size, indexes))
    with _cache_lock:
        if len(_ENCODED_CACHE) > 256:
            _ENCODED_CACHE.clear()
        _ENCODED_CACHE[key] = encoded
    return encoded


def list_credential(lst: StatusList, issuer: Issuer, encoded: str, config: StatusListConfig) -> dict:
    """The BitstringStatusListCredential document (unsigned: its integrity is the hash published on chain)."""
    return {
        "@context": [CONTEXT_V2],
        "id": lst.url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer.did or issuer.address,
        "validFrom": lst.updated_at.replace(microsecond=0).isoformat() + "Z",
        "credentialSubject": {
            "id": f"{lst.url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": lst.purpose,
            "encodedList": encoded,
            "ttl": config.max_age_seconds * 1000,
        },
    }


def signed_list_credential(
    settings: Settings, lst: StatusList, issuer: Issuer, encoded: str, config: StatusListConfig
) -> dict:
    """The list credential, signed with the issuer's Ed25519 key (eddsa-jcs-2022) when it has one; the
    signature is cached per list revision, so a served list costs one signature per change."""
    doc = list_credential(lst, issuer, encoded, config)
    if not can_sign(issuer):
        return doc
    key = (issuer.id, lst.id, lst.revision, encoded, issuer.signing_key_ref)
    with _cache_lock:
        hit = _SIGNED_CACHE.get(key)
    if hit is not None and hit.get("validFrom") == doc["validFrom"]:
        return hit
    signed = add_proof(doc, load_credential_signer(settings, issuer), cryptosuite="eddsa-jcs-2022")
    with _cache_lock:
        if len(_SIGNED_CACHE) > 256:
            _SIGNED_CACHE.clear()
        _SIGNED_CACHE[key] = signed
    return signed


_SIGNED_CACHE: dict[tuple, dict] = {}


def find_list(session: Session, issuer_ref: str, purpose: str) -> tuple[StatusList, Issuer]:
    if purpose not in PURPOSES:
        raise NotFound(
            f"unknown status purpose {purpose!r}",
            [{"pointer": "", "field": "path.purpose", "message": f"one of {', '.join(PURPOSES)}"}],
        )
    issuer = session.exec(select(Issuer).where(sa.func.lower(Issuer.address) == issuer_ref.lower())).first()
    lst = (
        None
        if issuer is None
        else session.exec(
            select(StatusList).where(StatusList.issuer_id == issuer.id, StatusList.purpose == purpose)
        ).first()
    )
    if lst is None or issuer is None:
        raise NotFound(
            f"no {purpose} status list for issuer {issuer_ref}",
            [{"pointer": "", "field": "path.issuerId", "message": "unknown issuer or list"}],
        )
    return lst, issuer
