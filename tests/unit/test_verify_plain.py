"""Plain signed credentials without a chain: signature, validity period and status list checks, and the
"signed, not anchored" verdict. The web is an in-memory fetcher (the Fetcher interface the verifier uses)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from anchoring.errors import ResolutionError
from anchoring.signing import Fetched, KeyType, LocalSigner, add_proof, did_key, envelope, sign_vc_jwt
from anchoring.signing.fetch import NotFound
from anchoring.verify import NOT_ANCHORED, WebContext, verify_credential
from anchoring.verify.report import UNANCHORED_CHECKS
from tests.helpers.vectors import status_entry, status_list_credential, vc2_credential

NOW = datetime(2026, 6, 1, tzinfo=UTC).timestamp()
LIST_URL = "https://status.uni.example/lists/1"


class Web:
    """URL -> (content type, body); anything else is unreachable, or 404 when listed in `missing`."""

    def __init__(self, docs=None, missing=()):
        self.docs = dict(docs or {})
        self.missing = set(missing)
        self.requests: list[str] = []

    def __call__(self, url: str) -> Fetched:
        self.requests.append(url)
        if url in self.missing:
            raise NotFound(url, "HTTP 404")
        if url not in self.docs:
            raise ResolutionError(url, "connection refused")
        kind, body = self.docs[url]
        return Fetched(url, kind, body if isinstance(body, bytes) else body.encode())


def _web(docs=None, **kw) -> WebContext:
    return WebContext(fetch=Web(docs, **kw), now=lambda: NOW)


def _signed(signer=None, suite="eddsa-jcs-2022", **extra):
    signer = signer or LocalSigner.generate()
    return signer, add_proof(vc2_credential(did_key(signer.public_key), **extra), signer, cryptosuite=suite)


def _statuses(report):
    return {c.name: c.status for c in report.checks}


@pytest.mark.parametrize("suite", ["eddsa-jcs-2022", "eddsa-rdfc-2022"])
def test_signed_vc_without_an_anchor_is_signed_not_anchored(suite) -> None:
    _, vc = _signed(suite=suite)
    report = verify_credential(vc, None, web=_web())
    assert report.verdict == NOT_ANCHORED, report.to_json()
    assert [c.name for c in report.checks] == list(UNANCHORED_CHECKS)
    assert (
        "no anchor looked up" in report.summary["anchor"]
        and report.summary["verdict_text"] == "signed, not anchored"
    )
    assert report.summary["digest_rule"] == "jcs" and report.summary["digest"].startswith("0x")
    assert "not bound to a registry issuer" in report["signature"].reason


def test_tampered_signed_vc_is_invalid() -> None:
    _, vc = _signed()
    vc["credentialSubject"]["achievement"]["name"] = "Forged"
    report = verify_credential(vc, None, web=_web())
    assert report.verdict == "invalid" and report["signature"].status == "fail"


def test_key_of_another_controller_fails() -> None:
    signer = LocalSigner.generate()
    vc = add_proof(vc2_credential("did:key:" + LocalSigner.generate().public_key_multibase), signer)
    report = verify_credential(vc, None, web=_web())
    assert (
        report["signature"].status == "fail"
        and "not of the credential's issuer" in report["signature"].reason
    )


@pytest.mark.parametrize("key_type", [KeyType.ED25519, KeyType.P256])
def test_vc_jwt_and_enveloped_vc_jwt(key_type) -> None:
    signer = LocalSigner.generate(key_type)
    token = sign_vc_jwt(vc2_credential(did_key(signer.public_key)), signer)
    for held in (token, token + "\n", envelope(token)):
        report = verify_credential(held, None, web=_web())
        assert report.verdict == NOT_ANCHORED, report.to_json()
        assert report.summary["digest_rule"] == "compact"
    head, body, sig = token.split(".")
    report = verify_credential(f"{head}.{body}.{sig[:-4]}AAAA", None, web=_web())
    assert report.verdict == "invalid"


@pytest.mark.parametrize(
    ("dates", "fragment"),
    [
        ({"validFrom": "2027-01-01T00:00:00Z"}, "not yet valid: validFrom is 2027-01-01T00:00:00Z"),
        ({"validUntil": "2026-01-01T00:00:00Z"}, "expired: validUntil was 2026-01-01T00:00:00Z"),
        ({"validFrom": "2025-01-01T00:00:00Z", "validUntil": "2024-01-01T00:00:00Z"}, "is before validFrom"),
        ({"validFrom": "PAST DATE"}, "not an XML Schema dateTimeStamp"),
        ({"validFrom": "2025-01-01T00:00:00"}, "no time zone"),
        ({"expirationDate": "2026-05-31T23:59:59Z"}, "expired: expirationDate"),
    ],
)
def test_validity_period_failures_name_the_dates(dates, fragment) -> None:
    signer = LocalSigner.generate()
    cred = vc2_credential(did_key(signer.public_key))
    cred.update(dates)
    report = verify_credential(add_proof(cred, signer), None, web=_web())
    check = report["validity_period"]
    assert check.status == "fail" and fragment in check.reason, check.reason
    assert report.verdict == "invalid"


def test_validity_period_passes_with_the_dates_and_jwt_exp_counts() -> None:
    _, vc = _signed(validUntil="2030-01-01T00:00:00Z")
    check = verify_credential(vc, None, web=_web())["validity_period"]
    assert check.status == "pass" and "until 2030-01-01T00:00:00Z" in check.reason
    signer = LocalSigner.generate()
    token = sign_vc_jwt(vc2_credential(did_key(signer.public_key)), signer, claims={"exp": int(NOW) - 60})
    check = verify_credential(token, None, web=_web())["validity_period"]
    assert check.status == "fail" and "expired: exp" in check.reason


def test_unsigned_or_non_vc_input_fails_format() -> None:
    assert verify_credential(vc2_credential("did:example:x"), None, web=_web())["format"].status == "fail"
    assert verify_credential({"proof": {}}, None, web=_web()).verdict == "invalid"
    assert verify_credential("not json, not a jwt", None, web=_web()).verdict == "invalid"


def test_node_lookup_unreachable_is_error_and_404_is_not_anchored() -> None:
    _, vc = _signed()
    down = verify_credential(vc, None, node="http://127.0.0.1:9", web=_web())
    assert down.verdict == "error" and down["anchored"].status == "error"
    report = verify_credential(vc, None, web=_web())
    digest = report.summary["digest"]
    url = f"https://node.example/v1/proofs/{digest}"
    missing = verify_credential(vc, None, node="https://node.example", web=_web(missing=[url]))
    assert missing.verdict == NOT_ANCHORED
    pending = {"digest": digest, "state": "pending", "root": None, "proof": None, "anchor": None}
    waiting = verify_credential(
        vc, None, node="https://node.example/", web=_web({url: ("application/json", json.dumps(pending))})
    )
    assert waiting.verdict == NOT_ANCHORED and waiting.summary["node_state"] == "pending"


# ------------------------------------------------------------------------------------------ status lists
def _with_status(signer, purpose="revocation", index=42):
    issuer = did_key(signer.public_key)
    cred = vc2_credential(issuer, credentialStatus=[status_entry(LIST_URL, index, purpose)])
    return add_proof(cred, signer)


def _served(signer, set_bits=(), purpose="revocation", sign=True, form="di"):
    lst = status_list_credential(LIST_URL, did_key(signer.public_key), purpose, set_bits)
    if not sign:
        return ("application/json", json.dumps(lst))
    if form == "jwt":
        return ("application/vc+jwt", sign_vc_jwt(lst, signer))
    return ("application/json", json.dumps(add_proof(lst, signer)))


@pytest.mark.parametrize("form", ["di", "jwt"])
def test_status_list_bit_clear_passes_and_set_fails(form) -> None:
    signer = LocalSigner.generate()
    vc = _with_status(signer)
    ok = verify_credential(vc, None, web=_web({LIST_URL: _served(signer, (7,), form=form)}))
    assert (
        ok["status_list"].status == "pass"
        and "bit 42" in ok["status_list"].reason
        and "is clear" in ok["status_list"].reason
    )
    revoked = verify_credential(vc, None, web=_web({LIST_URL: _served(signer, (42,), form=form)}))
    assert (
        revoked["status_list"].status == "fail" and "revoked by status list" in revoked["status_list"].reason
    )
    assert revoked.verdict == "invalid"


def test_suspension_list_set_bit_says_suspended() -> None:
    signer = LocalSigner.generate()
    vc = _with_status(signer, "suspension", 3)
    report = verify_credential(vc, None, web=_web({LIST_URL: _served(signer, (3,), "suspension")}))
    assert "suspended by status list" in report["status_list"].reason


def test_unreachable_status_list_is_error_never_not_revoked() -> None:
    signer = LocalSigner.generate()
    report = verify_credential(_with_status(signer), None, web=_web())
    assert report["status_list"].status == "error" and "unreachable" in report["status_list"].reason
    assert report.verdict == "error"
    offline = verify_credential(_with_status(signer), None, web=WebContext.offline(now=lambda: NOW))
    assert offline["status_list"].status == "error"


def test_status_list_must_be_signed_by_the_issuer() -> None:
    signer = LocalSigner.generate()
    vc = _with_status(signer)
    unsigned = verify_credential(vc, None, web=_web({LIST_URL: _served(signer, sign=False)}))
    assert (
        unsigned["status_list"].status == "fail"
        and "not a signed credential" in unsigned["status_list"].reason
    )
    other = LocalSigner.generate()
    foreign = verify_credential(vc, None, web=_web({LIST_URL: _served(other)}))
    assert (
        foreign["status_list"].status == "fail"
        and "not by the credential's issuer" in foreign["status_list"].reason
    )
    signed = json.loads(_served(signer)[1])
    signed["credentialSubject"]["encodedList"] = status_list_credential(LIST_URL, "x", set_bits=(42,))[
        "credentialSubject"
    ]["encodedList"]
    forged = verify_credential(vc, None, web=_web({LIST_URL: ("application/json", json.dumps(signed))}))
    assert forged["status_list"].status == "fail" and "signature is invalid" in forged["status_list"].reason


def test_status_entry_purpose_mismatch_and_unknown_types() -> None:
    signer = LocalSigner.generate()
    vc = _with_status(signer, "suspension")
    report = verify_credential(vc, None, web=_web({LIST_URL: _served(signer, purpose="revocation")}))
    assert report["status_list"].status == "fail" and "statusPurpose" in report["status_list"].reason
    cred = vc2_credential(
        did_key(signer.public_key), credentialStatus={"type": "StatusList2021Entry", "id": "x"}
    )
    report = verify_credential(add_proof(cred, signer), None, web=_web())
    assert report["status_list"].status == "error" and "not checked" in report["status_list"].reason


def test_one_list_fetch_for_many_credentials() -> None:
    signer = LocalSigner.generate()
    web = _web({LIST_URL: _served(signer)})
    for i in range(3):
        vc = copy.deepcopy(_with_status(signer, index=i))
        assert verify_credential(vc, None, web=web)["status_list"].status == "pass"
    assert web.fetch.requests == [LIST_URL]


def test_a_report_s_compact_json_is_its_dict_s():
    """VerificationReport.to_json_bytes (orjson over the Check dataclasses) writes what to_dict says, also for an
    integer beyond 64 bits quoted from a document (the standard library's fallback)."""
    import json

    import orjson

    from anchoring.verify.report import Check, VerificationReport

    checks = [Check("format", "pass", "ok", {"n": 1}), Check("scope", "fail", "no", {"big": 2**70, "é": "ü"})]
    for report in (
        VerificationReport(checks[:1], {"digest": "0x1"}, "a.json"),
        VerificationReport(checks, {}),
    ):
        assert json.loads(report.to_json_bytes()) == report.to_dict()
    assert VerificationReport(checks[:1], {"x": [1]}).to_json_bytes() == orjson.dumps(
        VerificationReport(checks[:1], {"x": [1]}).to_dict()
    )
