"""SD-JWT VC: issue, present a subset with key binding, verify; every tampering and binding mistake refused."""

from __future__ import annotations

import base64
import json

import pytest

from anchoring.errors import FormatError
from anchoring.signing import DidResolver, KeyType, LocalSigner
from anchoring.signing.sdjwt import Disclosure, issue_sd_jwt_vc, parse_sd_jwt, present, verify_sd_jwt_vc

ISSUER = LocalSigner.generate()
HOLDER = LocalSigner.generate(KeyType.P256)
OTHER = LocalSigner.generate(KeyType.P256)
RESOLVER = DidResolver(fetch=None)
CLAIMS = {"title": "Data Science 101", "level": 6, "workload": {"ects": 5}, "dateOfBirth": "2000-01-01"}
AUD = "https://employer.example"


def _issue(signer=ISSUER, **kw):
    return issue_sd_jwt_vc(
        CLAIMS,
        signer,
        vct="https://credreg.example/vct/microcredential",
        disclosable=list(CLAIMS),
        holder_jwk=HOLDER.public_jwk,
        **kw,
    )


def test_issue_present_verify_subset():
    sd = _issue()
    jwt, disclosures, kb = parse_sd_jwt(sd)
    assert kb is None and {d.name for d in disclosures} == set(CLAIMS)
    assert "Data Science" not in base64.urlsafe_b64decode(jwt.split(".")[1] + "==").decode()
    shown = present(sd, ["level", "workload"], holder=HOLDER, audience=AUD, nonce="n-1")
    check = verify_sd_jwt_vc(shown, RESOLVER, audience=AUD, nonce="n-1", require_key_binding=True)
    assert check.valid, check.reason
    assert check.disclosed == {"level": 6, "workload": {"ects": 5}} and check.undisclosed == 2
    assert check.key_binding is True and check.claims["vct"].endswith("microcredential")
    plain = verify_sd_jwt_vc(present(sd, ["title"]), RESOLVER)
    assert plain.valid and plain.key_binding is None and plain.disclosed == {"title": "Data Science 101"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda sd: present(sd, ["level"], holder=HOLDER, audience="https://other.example", nonce="n"),
            "aud",
        ),
        (lambda sd: present(sd, ["level"], holder=HOLDER, audience=AUD, nonce="stale"), "nonce"),
        (lambda sd: present(sd, ["level"], holder=OTHER, audience=AUD, nonce="n"), "cnf.jwk"),
        (lambda sd: present(sd, ["level"], holder=HOLDER, audience=AUD, nonce="n", issued_at=1), "iat"),
        (lambda sd: present(sd, ["level"]), "no key-binding"),
        # a disclosure the issuer never signed
        (lambda sd: sd + Disclosure.make("level", 8).encoded + "~", "not listed in _sd"),
        # the KB-JWT of one disclosure set reused with another
        (
            lambda sd: (
                present(sd, ["title"])
                + present(sd, ["level"], holder=HOLDER, audience=AUD, nonce="n").rsplit("~", 1)[1]
            ),
            "sd_hash",
        ),
    ],
)
def test_bad_presentations_fail(change, reason):
    check = verify_sd_jwt_vc(change(_issue()), RESOLVER, audience=AUD, nonce="n", require_key_binding=True)
    assert not check.valid and reason in check.reason, check.reason


def test_tampered_issuer_jwt_and_wrong_key():
    sd = _issue()
    jwt, *rest = sd.split("~")
    head, body, sig = jwt.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    payload["vct"] = "https://forged.example"
    forged = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    check = verify_sd_jwt_vc("~".join([f"{head}.{forged}.{sig}", *rest]), RESOLVER)
    assert not check.valid and "signature does not verify" in check.reason
    other = LocalSigner.generate()
    mixed = issue_sd_jwt_vc(CLAIMS, other, vct="x", kid=ISSUER.verification_method)
    assert "not the controller" in verify_sd_jwt_vc(mixed, RESOLVER).reason
    iss = ISSUER.verification_method.split("#")[0]
    mixed = issue_sd_jwt_vc(CLAIMS, other, vct="x", kid=ISSUER.verification_method, issuer=iss)
    assert "signature does not verify" in verify_sd_jwt_vc(mixed, RESOLVER).reason
    expired = verify_sd_jwt_vc(_issue(expires_at=1000), RESOLVER)
    assert not expired.valid and "exp" in expired.reason


def test_never_disclosable_and_malformed():
    with pytest.raises(FormatError):
        issue_sd_jwt_vc({"cnf": {}}, ISSUER, vct="x", disclosable=["cnf"])
    with pytest.raises(FormatError):
        verify_sd_jwt_vc("not an sd-jwt", RESOLVER)
    with pytest.raises(FormatError):
        parse_sd_jwt(_issue().replace("~", "~!!~", 1))
