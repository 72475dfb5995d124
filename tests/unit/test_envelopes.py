"""Sealed EDC inputs: JAdES / JWS JSON envelopes recognised, opened, their seal checked with the key they carry.

Real seals: the Commission's ELM v3 samples (test e-seal "TEST SEAL" by ANF AC, expired 2025-05-10) and MyNextID's
EDC micro-credential (VELOCERT OU e-seal by Halcom, valid to 2028); sources in tests/samples/README.md. Variants (a
chain, another key, b64 true, flattened, a header jwk, no key) are made with a test e-seal from tests/helpers/samples.py,
signed by hand with cryptography (the node verifies with joserfc).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
from joserfc.jwk import RSAKey

from node.issuance.envelopes import EnvelopeError, is_envelope, open_envelope
from tests.helpers.samples import (
    EC_ANNEX1_SEALED,
    EC_CERT_OF_PARTICIPATION_SEALED,
    MYNEXTID_EDC_SEALED,
    TestSeal,
    example,
    load,
    payload_of,
)

IN_2026 = datetime(2026, 6, 1, tzinfo=UTC)
IN_2024 = datetime(2024, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def seal() -> TestSeal:
    return TestSeal.create()


def test_the_commissions_sealed_sample_verifies_and_its_expired_certificate_is_reported():
    envelope = load(EC_ANNEX1_SEALED)
    opened = open_envelope(envelope, now=IN_2026)
    assert opened is not None
    assert opened.credential == payload_of(envelope)
    assert opened.credential["type"] == ["VerifiableCredential", "EuropeanDigitalCredential"]
    s = opened.seal
    assert (s.format, s.serialization, s.payload_encoding, s.status) == (
        "JAdES",
        "general",
        "unencoded",
        "valid",
    )
    [sig] = s.signatures
    assert (sig.alg, sig.status, sig.key_source, sig.signing_time) == (
        "RS256",
        "valid",
        "x5c",
        "2023-09-27T11:54:17Z",
    )
    cert = sig.certificate
    assert cert is not None
    assert "CN=TEST SEAL" in cert.subject and "O=ORGANIZACION TEST" in cert.subject
    assert "organizationIdentifier=VATES-A00000000" in cert.subject  # eIDAS attribute by name, not by OID
    assert "CN=ANF AC Qualified Certificates for eSeal" in cert.issuer
    assert (cert.not_before, cert.not_after) == ("2023-05-11T14:31:15Z", "2025-05-10T14:31:15Z")
    assert cert.expired and not cert.not_yet_valid and cert.valid_at_signing_time is True
    assert cert.chain_length == 1 and cert.chain_linked is None
    assert any(
        "expired on 2025-05-10T14:31:15Z" in n and "valid when the seal was made" in n for n in sig.notes
    )
    assert "adoTst" in sig.timestamps and "sigTst" in sig.timestamps
    # before the expiry the same certificate is simply valid
    earlier = open_envelope(envelope, now=IN_2024)
    assert earlier is not None and earlier.seal.signatures[0].certificate.expired is False  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("path", "subject", "expired"),
    [
        (EC_CERT_OF_PARTICIPATION_SEALED, "CN=TEST SEAL", True),
        (MYNEXTID_EDC_SEALED, "CN=VELOCERT OU", False),
    ],
)
def test_other_real_seals_verify(path, subject, expired):
    opened = open_envelope(load(path), now=IN_2026)
    assert opened is not None and opened.seal.status == "valid"
    cert = opened.seal.signatures[0].certificate
    assert cert is not None and subject in cert.subject and cert.expired is expired
    assert opened.seal.as_dict()["signatures"][0]["certificate"]["subject"] == cert.subject


@pytest.mark.parametrize(
    "tamper",
    [
        lambda env: env.update(
            payload=env["payload"].replace("Digital micro-credential", "Digital micro-credentiaI")
        ),
        lambda env: env.update(payload=env["payload"].replace('"', ' "', 1)),  # same JSON, other bytes
        lambda env: env["signatures"][0].update(signature="A" + env["signatures"][0]["signature"][1:]),
    ],
    ids=["payload text", "payload whitespace", "signature"],
)
def test_a_tampered_seal_is_an_error_naming_the_signature_and_the_credential(tamper):
    envelope = copy.deepcopy(load(EC_ANNEX1_SEALED))
    tamper(envelope)
    with pytest.raises(EnvelopeError) as exc:
        open_envelope(envelope)
    [err] = exc.value.errors
    assert err["field"] == "signatures[0].signature" and err["pointer"] == "/signatures/0/signature"
    assert "does not verify" in err["message"] and "CN=TEST SEAL" in err["message"]
    assert exc.value.credential_id == payload_of(load(EC_ANNEX1_SEALED))["id"]


@pytest.mark.parametrize("b64", [False, True])
@pytest.mark.parametrize("flattened", [False, True])
def test_own_seals_in_every_serialization(seal, b64, flattened):
    credential = example("elm-microcredential.json")
    envelope = seal.seal(credential, b64=b64, flattened=flattened)
    opened = open_envelope(envelope)
    assert opened is not None and opened.credential == credential
    s = opened.seal
    assert s.status == "valid" and s.format == "JAdES"
    assert s.serialization == ("flattened" if flattened else "general")
    assert s.payload_encoding == ("base64url" if b64 else "unencoded")
    cert = s.signatures[0].certificate
    assert cert is not None and cert.chain_length == 2 and cert.chain_linked is True and not cert.expired
    assert "CN=credreg TEST SEAL" in cert.subject and "CN=credreg test CA" in cert.issuer


def test_a_chain_that_does_not_link_is_reported(seal):
    other = TestSeal.create()
    envelope = seal.seal(
        example("elm-microcredential.json"), header={"x5c": seal.x5c(chain=False) + other.x5c()[1:]}
    )
    opened = open_envelope(envelope)
    assert opened is not None and opened.seal.status == "valid"
    sig = opened.seal.signatures[0]
    assert sig.certificate is not None and sig.certificate.chain_linked is False
    assert any("do not form a chain" in n for n in sig.notes)


def test_a_seal_by_another_key_than_its_certificate_is_refused(seal):
    other = TestSeal.create()
    envelope = other.seal(
        example("elm-microcredential.json"), header={"x5c": seal.x5c(), "x5t#S256": seal.thumbprint()}
    )
    with pytest.raises(EnvelopeError) as exc:
        open_envelope(envelope)
    assert exc.value.errors[0]["field"] == "signatures[0].signature"


def test_an_expired_certificate_valid_at_signing_time_is_accepted_and_said(seal):
    old = TestSeal.create(
        valid_from=datetime.now(UTC) - timedelta(days=800), valid_to=datetime.now(UTC) - timedelta(days=100)
    )
    signed_then = (datetime.now(UTC) - timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    opened = open_envelope(old.seal(example("elm-microcredential.json"), signing_time=signed_then))
    assert opened is not None and opened.seal.status == "valid"
    cert = opened.seal.signatures[0].certificate
    assert cert is not None and cert.expired and cert.valid_at_signing_time is True
    # signed after the expiry: still reported, not refused, and said so
    late = open_envelope(old.seal(example("elm-microcredential.json")))
    assert late is not None
    sig = late.seal.signatures[0]
    assert sig.certificate is not None and sig.certificate.valid_at_signing_time is False
    assert any("not valid at the signing time" in n for n in sig.notes)


def test_a_header_jwk_verifies_and_is_called_self_asserted(seal):
    jwk = RSAKey.import_key(seal.key.public_key()).as_dict()
    opened = open_envelope(
        seal.seal(example("elm-microcredential.json"), header={"x5c": None, "x5t#S256": None, "jwk": jwk})
    )
    assert opened is not None and opened.seal.status == "valid"
    sig = opened.seal.signatures[0]
    assert (
        sig.key_source == "jwk" and sig.certificate is None and any("self-asserted" in n for n in sig.notes)
    )
    private = RSAKey.import_key(seal.key).as_dict(private=True)
    with pytest.raises(EnvelopeError, match="private key"):
        open_envelope(
            seal.seal(
                example("elm-microcredential.json"), header={"x5c": None, "x5t#S256": None, "jwk": private}
            )
        )


def test_without_key_material_the_seal_is_kept_unverified(seal):
    opened = open_envelope(
        seal.seal(example("elm-microcredential.json"), header={"x5c": None, "x5t#S256": None, "kid": "k1"})
    )
    assert opened is not None and opened.seal.status == "unverified"
    sig = opened.seal.signatures[0]
    assert sig.status == "unverified" and sig.kid == "k1" and "no key material" in sig.reason


@pytest.mark.parametrize(
    ("header", "field", "words"),
    [
        ({"alg": "none"}, "signatures[0].protected.alg", "not accepted"),
        ({"alg": "HS256"}, "signatures[0].protected.alg", "not accepted"),
        ({"x5t#S256": "AAAA"}, "signatures[0].protected.x5t#S256", "not the SHA-256 thumbprint"),
        ({"x5c": ["!!"]}, "signatures[0].protected.x5c[0]", "not a base64 DER"),
        ({"x5c": []}, "signatures[0].protected.x5c", "non-empty array"),
        ({"crit": ["b64", "sigT", "foo"], "foo": "x"}, "signatures[0].protected", "Unsupported ['foo']"),
        ({"crit": ["sigT"]}, "signatures[0].protected", "b64"),  # b64 false but not critical (RFC 7797 s. 6)
    ],
)
def test_malformed_seals_name_the_member(seal, header, field, words):
    with pytest.raises(EnvelopeError) as exc:
        open_envelope(seal.seal(example("elm-microcredential.json"), header=header))
    [err] = exc.value.errors
    assert err["field"] == field and words in err["message"], err


@pytest.mark.parametrize(
    ("payload", "words"),
    [("[1, 2]", "must be a JSON object"), ('{"a": 1, "a": 2}', "duplicate"), ("not json", "not valid JSON")],
)
def test_the_payload_must_be_one_strict_json_object(seal, payload, words):
    with pytest.raises(EnvelopeError) as exc:
        open_envelope(seal.seal(payload))
    assert exc.value.errors[0]["field"] == "payload" and words in exc.value.errors[0]["message"]


def test_what_is_and_is_not_an_envelope():
    assert is_envelope(load(EC_ANNEX1_SEALED))
    assert open_envelope(example("elm-microcredential.json")) is None  # a credential
    assert (
        open_envelope({"payload": "x", "signatures": [], "id": "urn:x"}) is None
    )  # other members: a credential
    assert not is_envelope({"payload": "x"}) and not is_envelope([1])
    for bad, field in (
        ({"payload": 1, "signatures": [{"protected": "e30", "signature": "x"}]}, "payload"),
        ({"payload": "{}", "signatures": []}, "signatures"),
        ({"payload": "{}", "signatures": ["x"]}, "signatures[0]"),
        ({"payload": "{}", "signatures": [{"protected": "!!", "signature": "x"}]}, "signatures[0].protected"),
        ({"payload": "{}", "protected": 5, "signature": "x"}, "protected"),
    ):
        with pytest.raises(EnvelopeError) as exc:
            open_envelope(bad)
        assert exc.value.errors[0]["field"] == field, (bad, exc.value.errors)


def test_the_report_is_plain_json():
    opened = open_envelope(load(MYNEXTID_EDC_SEALED))
    assert opened is not None
    assert json.loads(json.dumps(opened.seal.as_dict()))["signatures"][0]["keySource"] == "x5c"
