"""Accepting credentials: validate, canonicalise, salt, hash and store pending in one transaction; idempotent."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from anchoring.scheme.digest import hash_credential
from anchoring.scheme.encoding import to_hex
from anchoring.scheme.jcs import CanonicalizationError
from node.errors import Conflict, Invalid, TooLarge
from node.issuance.envelopes import EnvelopeError, open_envelope
from node.issuance.profiles import UnknownProfile, evaluate_profile
from node.issuance.signing import Issuing
from node.storage.bulk import insert_rows
from node.storage.models import Credential, CredentialStatus, utcnow

MAX_IDEMPOTENCY_KEY_LEN = 200


MAX_EXTERNAL_ID_LEN = 500


MAX_REPORTED_ERRORS = 100


#: the settings (environment variables) a 413 names, so an operator knows what to raise
MAX_CREDENTIAL_SETTING = "CREDREG_MAX_CREDENTIAL_BYTES"
MAX_BULK_ITEMS_SETTING = "CREDREG_MAX_BULK_ITEMS"


_LOOKUP_CHUNK = 500


_PENDING = CredentialStatus.pending.value  # enum .value is slow in hot loops


@dataclass(frozen=True)
class IssueResult:
    index: int
    digest: str  # 0x hex
    status: str
    created: bool  # False = idempotent replay of an existing credential
    #: the profile's report (element -> JSON Pointer of the value that satisfied it); None without a profile
    profile: dict[str, Any] | None = None
    #: a sealed input (JAdES / JWS JSON envelope): the seal and how it checked (node/issuance/envelopes.py)
    seal: dict[str, Any] | None = None


# ----------------------------------------------------------------------------------------- validation
def _pointer(path: str) -> str:
    """``credentialSubject.achievement[2].name`` -> ``/credentialSubject/achievement/2/name`` (best effort)."""
    if not path:
        return ""
    out, buf, i = [], "", 0
    while i < len(path):
        c = path[i]
        if c == ".":
            if buf:
                out.append(buf)
            buf = ""
        elif c == "[":
            if buf:
                out.append(buf)
            buf = ""
            j = path.index("]", i) if "]" in path[i:] else len(path)
            inner = path[i + 1 : j]
            if inner.startswith('"') and inner.endswith('"'):
                inner = inner[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            out.append(inner)
            i = j
        else:
            buf += c
        i += 1
    if buf:
        out.append(buf)
    return "/" + "/".join(s.replace("~", "~0").replace("/", "~1") for s in out)


@dataclass
class _Prepared:
    index: int
    digest: bytes
    salt: bytes
    canonical: bytes
    external_id: str | None
    idempotency_key: str | None
    profile: dict[str, Any] | None = None
    seal: dict[str, Any] | None = None
    digest_rule: str | None = None  # None = salted-jcs
    compare: bytes | None = None  # what a replay compares (None: canonical)
    input_digest: str | None = None

    @property
    def replay_key(self) -> bytes:
        return self.compare if self.compare is not None else self.canonical


def _with_index(err: dict, index: int | None, credential_id: Any = None) -> dict:
    if index is None:
        return err
    e = dict(err)
    e["index"] = index
    if isinstance(credential_id, str):  # the credential's own id: a bulk error names the credential too
        e["id"] = credential_id
    e["pointer"] = f"/{index}{err.get('pointer', '')}"
    e["field"] = f"[{index}]" + ("." + err["field"] if err.get("field") else "")
    return e


def _validate_key(idempotency_key: str | None) -> None:
    if idempotency_key is None:
        return
    if (
        not idempotency_key
        or len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LEN
        or not all(32 < ord(c) < 127 for c in idempotency_key)
    ):
        raise Invalid(
            f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters",
            [{"pointer": "", "field": "header.Idempotency-Key", "message": "invalid Idempotency-Key"}],
            slug="invalid-idempotency-key",
            title="Invalid Idempotency-Key",
        )


def _prepare(
    credentials: Sequence[Any],
    *,
    max_bytes: int,
    profile: str | None,
    idempotency_key: str | None,
    bulk: bool,
    issuing: Issuing | None = None,
) -> list[_Prepared]:
    try:
        evaluate_profile(profile, {})
    except UnknownProfile as exc:
        raise Invalid(
            str(exc),
            [{"pointer": "", "field": "query.profile", "message": str(exc)}],
            slug="unknown-profile",
            title="Unknown profile",
        ) from None
    prepared: list[_Prepared] = []
    errors: list[dict] = []
    too_large: list[dict] = []
    for i, cred in enumerate(credentials):
        idx = i if bulk else None
        if len(errors) + len(too_large) >= MAX_REPORTED_ERRORS:
            break
        if not isinstance(cred, dict):
            errors.append(
                _with_index(
                    {
                        "pointer": "",
                        "field": "",
                        "message": f"a credential must be a JSON object, got {_json_type(cred)}",
                    },
                    idx,
                )
            )
            continue
        item_errors: list[dict] = []
        # ---- hook (node/issuance/envelopes.py): a sealed EDC (JAdES / JWS JSON envelope) is checked and opened;
        # its payload is the credential the id and the profile read, the envelope as sent is what is hashed
        try:
            opened = open_envelope(cred)
        except EnvelopeError as exc:
            errors.extend(_with_index(e, idx, exc.credential_id) for e in exc.errors)
            continue
        subject = opened.credential if opened is not None else cred
        # ---- end of hook
        # ---- hook (node/issuance/signing.py): W3C VC data model, the token's issuer; signed below
        held: Any = cred
        signing = issuing is not None and opened is None
        if signing:
            assert issuing is not None
            held, subject, vc_errors = issuing.check(cred)
            item_errors.extend(vc_errors)
        # ---- end of hook
        ext = subject.get("id")
        if ext is not None and (
            not isinstance(ext, str) or not ext.strip() or len(ext) > MAX_EXTERNAL_ID_LEN
        ):
            item_errors.append(
                {
                    "pointer": "/id",
                    "field": "id",
                    "message": f"id must be a non-empty string of at most {MAX_EXTERNAL_ID_LEN} characters",
                }
            )
        report = evaluate_profile(profile, subject)
        if report is not None:
            item_errors.extend(_in_payload(pe.as_dict()) if opened else pe.as_dict() for pe in report.errors)
        hashed: Any = None
        try:
            if not signing:
                hashed = hash_credential(cred)
            elif not item_errors:
                assert issuing is not None
                hashed, sign_errors = issuing.secure(held)
                item_errors.extend(sign_errors)
        except CanonicalizationError as exc:
            item_errors.append({"pointer": _pointer(exc.path), "field": exc.path, "message": exc.reason})
            hashed = None
        if hashed is not None and len(hashed.canonical) > max_bytes:
            too_large.append(
                _with_index(
                    {
                        "pointer": "",
                        "field": "",
                        "message": f"credential is {len(hashed.canonical)} bytes canonicalised, over the "
                        f"limit of {max_bytes} bytes (setting {MAX_CREDENTIAL_SETTING})",
                        "limit": max_bytes,
                        "setting": MAX_CREDENTIAL_SETTING,
                    },
                    idx,
                    ext,
                )
            )
            continue
        if item_errors:
            errors.extend(_with_index(e, idx, ext) for e in item_errors)
            continue
        assert hashed is not None  # None only after a canonicalisation error, reported above
        key = None
        if idempotency_key is not None:
            key = f"{idempotency_key}#{i}" if bulk else idempotency_key
        prepared.append(
            _Prepared(
                i,
                hashed.digest,
                hashed.salt,
                hashed.canonical,
                ext,
                key,
                report.as_dict() if report is not None else None,
                opened.seal.as_dict() if opened is not None else None,
                **_signed_fields(hashed),
            )
        )
    if errors:
        what = "credential" if not bulk else f"{len({e.get('index') for e in errors})} item(s)"
        raise Invalid(
            f"the {what} failed validation; nothing was stored",
            errors[:MAX_REPORTED_ERRORS],
            slug="invalid-credential",
            title="Invalid credential",
        )
    if too_large:
        raise TooLarge(
            f"credential exceeds {max_bytes} bytes ({MAX_CREDENTIAL_SETTING}); nothing was stored",
            too_large,
            slug="credential-too-large",
            title="Credential too large",
        )
    return prepared


def _signed_fields(hashed: Any) -> dict[str, Any]:
    """The digest rule and replay key of a credential secured by node/issuance/signing.py."""
    rule = getattr(hashed, "rule", None)
    if rule is None or rule.value == "salted-jcs":
        return {}
    return {
        "digest_rule": rule.value,
        "compare": hashed.compare,
        "input_digest": to_hex(hashed.input_digest) if hashed.input_digest is not None else None,
    }


def _in_payload(err: dict) -> dict:
    """A profile error of a sealed credential: its path is inside the envelope's payload string."""
    e = dict(err)
    e["field"] = "payload." + e["field"]
    e["pointer"] = "/payload"
    return e


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    return type(v).__name__


# ----------------------------------------------------------------------------------------- storing
def _chunks(seq: list, n: int) -> Iterable[list]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def _existing(session: Session, issuer_id: int, column, values: list[str]) -> dict[str, tuple]:
    """Stored rows of ``issuer_id`` whose ``column`` (external_id or idempotency_key) is one of ``values``.

    PostgreSQL: one lookup per value on the unique ``(issuer_id, column)`` index (``unnest`` joined LATERAL to an
    equality on both columns with LIMIT 1: a nested loop of unique-index probes, whatever the statistics say); the plain
    ``issuer_id = ? AND column IN (...)`` was planned on ``(issuer_id, status, id)`` while statistics were stale,
    scanning every row of the issuer (quadratic ingest). SQLite plans the IN on the unique index."""
    t = Credential.__table__
    out: dict[str, tuple] = {}
    conn = session.connection()
    pg = conn.dialect.name == "postgresql"
    for chunk in _chunks(sorted(set(values)), _LOOKUP_CHUNK):
        if pg:
            v = (
                sa.func.unnest(sa.literal(chunk, sa.ARRAY(sa.String())))
                .table_valued("value")
                .render_derived("v")
            )
            hit = (
                sa.select(t.c.digest, t.c.canonical, t.c.status, t.c.input_digest)
                .where(t.c.issuer_id == issuer_id, column == v.c.value)
                .limit(1)  # unique anyway; keeps the planner from flattening the LATERAL into a hash join
                .lateral("hit")
            )
            q = sa.select(
                v.c.value, hit.c.digest, hit.c.canonical, hit.c.status, hit.c.input_digest
            ).select_from(v.join(hit, sa.true()))
        else:
            q = sa.select(column, t.c.digest, t.c.canonical, t.c.status, t.c.input_digest).where(
                t.c.issuer_id == issuer_id, column.in_(chunk)
            )
        for r in conn.execute(q).all():
            # a credential the node signed is compared by its input (a new signature differs every time)
            out[r[0]] = (r[1], bytes.fromhex(r[4][2:]) if r[4] else bytes(r[2]), r[3])
    return out


def _store(
    session: Session, issuer_id: int, items: list[_Prepared], profile: str | None, bulk: bool
) -> list[IssueResult]:
    t = Credential.__table__
    keys = [p.idempotency_key for p in items if p.idempotency_key]
    ext_ids = [p.external_id for p in items if p.external_id]
    by_key = _existing(session, issuer_id, t.c.idempotency_key, keys) if keys else {}
    by_ext = _existing(session, issuer_id, t.c.external_id, ext_ids) if ext_ids else {}

    results: list[IssueResult | None] = [None] * len(items)
    new_rows: list[dict] = []
    conflicts: list[dict] = []
    in_request: dict[str, tuple[int, _Prepared]] = {}  # external_id -> first item in this request
    duplicates: dict[int, int] = {}  # position -> position of the first item with the same credential id
    now = utcnow()
    for pos, p in enumerate(items):
        idx = p.index if bulk else None
        hit = by_key.get(p.idempotency_key) if p.idempotency_key else None
        if hit is not None:
            if hit[1] != p.replay_key:
                conflicts.append(
                    _with_index(
                        {
                            "pointer": "",
                            "field": "header.Idempotency-Key",
                            "message": "Idempotency-Key was already used with a different credential",
                        },
                        idx,
                    )
                )
                continue
            results[pos] = IssueResult(p.index, hit[0], hit[2], False)
            continue
        hit = by_ext.get(p.external_id) if p.external_id else None
        if hit is not None:
            if hit[1] != p.replay_key:
                conflicts.append(
                    _with_index(
                        {
                            "pointer": "/id",
                            "field": "id",
                            "message": f"credential id {p.external_id!r} was already issued with "
                            f"different content ({hit[0]})",
                        },
                        idx,
                    )
                )
                continue
            results[pos] = IssueResult(p.index, hit[0], hit[2], False)
            continue
        if p.external_id and p.external_id in in_request:
            first_pos, first = in_request[p.external_id]
            if first.replay_key != p.replay_key:
                conflicts.append(
                    _with_index(
                        {
                            "pointer": "/id",
                            "field": "id",
                            "message": f"credential id {p.external_id!r} appears at index "
                            f"{first.index} with different content",
                        },
                        idx,
                    )
                )
                continue
            duplicates[pos] = first_pos
            continue
        if p.external_id:
            in_request[p.external_id] = (pos, p)
        digest = to_hex(p.digest)
        new_rows.append(
            {
                "digest": digest,
                "salt": p.salt,
                "canonical": p.canonical,
                "digest_rule": p.digest_rule,
                "input_digest": p.input_digest,
                "issuer_id": issuer_id,
                "external_id": p.external_id,
                "idempotency_key": p.idempotency_key,
                "profile": profile,
                "status": _PENDING,
                "created_at": now,
            }
        )
        results[pos] = IssueResult(p.index, digest, _PENDING, True)
    if conflicts:
        raise Conflict(
            "an Idempotency-Key or credential id was already used for a different credential; "
            "nothing was stored",
            conflicts[:MAX_REPORTED_ERRORS],
            slug="idempotency-conflict",
        )
    for pos, first_pos in duplicates.items():
        first_result = results[first_pos]
        assert first_result is not None  # the first item of a credential id is a new row
        results[pos] = IssueResult(items[pos].index, first_result.digest, first_result.status, False)
    stored: list[IssueResult] = []
    for r in results:
        assert r is not None  # every item was found, is new or is a duplicate (conflicts raised above)
        stored.append(r)
    insert_rows(session.connection(), t, new_rows)  # Core (COPY on PostgreSQL), no ORM bookkeeping per row
    return stored


def issue_many(
    session: Session,
    issuer_id: int,
    credentials: Sequence[Any],
    *,
    max_bytes: int,
    max_items: int | None = None,
    profile: str | None = None,
    idempotency_key: str | None = None,
    bulk: bool = True,
    issuing: Issuing | None = None,
) -> list[IssueResult]:
    """Validate and store ``credentials`` for ``issuer_id`` atomically; commits. Results in input order.

    ``issuing`` (the API passes it, node/issuance/signing.py): the W3C VC data model and the token's issuer are
    checked, then the credential is signed (or its proof checked) and hashed by its digest rule."""
    _validate_key(idempotency_key)
    if max_items is not None and len(credentials) > max_items:
        raise TooLarge(
            f"{len(credentials)} credentials in one request, the limit is {max_items} ({MAX_BULK_ITEMS_SETTING})",
            [
                {
                    "pointer": "",
                    "field": "",
                    "message": f"at most {max_items} items per request (setting {MAX_BULK_ITEMS_SETTING})",
                    "limit": max_items,
                    "setting": MAX_BULK_ITEMS_SETTING,
                }
            ],
            slug="too-many-items",
            title="Too many credentials",
        )
    if bulk and not credentials:
        raise Invalid(
            "no credentials in the request",
            [{"pointer": "", "field": "", "message": "the array is empty"}],
            slug="invalid-credential",
            title="Invalid credential",
        )
    items = _prepare(
        credentials,
        max_bytes=max_bytes,
        profile=profile,
        idempotency_key=idempotency_key,
        bulk=bulk,
        issuing=issuing,
    )
    for attempt in range(3):
        try:
            results = _store(session, issuer_id, items, profile, bulk)
            session.commit()
        except IntegrityError:
            # a concurrent request stored the same key/id first: retry, the lookup now finds it
            session.rollback()
            if attempt == 2:
                raise Conflict(
                    "concurrent requests with the same Idempotency-Key or credential id; retry",
                    slug="idempotency-conflict",
                ) from None
            continue
        except BaseException:
            session.rollback()
            raise
        from node.metrics import CREDENTIALS_ACCEPTED

        CREDENTIALS_ACCEPTED.inc(sum(1 for r in results if r.created))
        if any(p.profile is not None or p.seal is not None for p in items):
            results = [
                replace(r, profile=p.profile, seal=p.seal) for r, p in zip(results, items, strict=True)
            ]
        return results
    raise AssertionError("unreachable")  # pragma: no cover


def issue_one(
    session: Session,
    issuer_id: int,
    credential: Any,
    *,
    max_bytes: int,
    profile: str | None = None,
    idempotency_key: str | None = None,
) -> IssueResult:
    """Validate and store one credential; commits. Same rules as :func:`issue_many`, errors without index."""
    return issue_many(
        session,
        issuer_id,
        [credential],
        max_bytes=max_bytes,
        profile=profile,
        idempotency_key=idempotency_key,
        bulk=False,
    )[0]
