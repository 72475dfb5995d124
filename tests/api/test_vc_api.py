"""The W3C VC-API endpoints: issue through the node's own issuance (signed, stored, token-bound), verify a
credential or a presentation into ``{verified, checks, warnings, errors}``; bad input and failed verification are
400 problem+json naming the member."""

from __future__ import annotations

import copy

import pytest
from pydantic import SecretStr

from anchoring.scheme.encoding import to_hex
from anchoring.scheme.jcs import canonicalize
from anchoring.scheme.keccak import keccak256
from anchoring.signing import DidResolver, KeyType, LocalSigner, add_proof, did_key, verify_proofs
from anchoring.signing.multikey import encode_secret_multikey
from node.auth.tokens import create_issuer, create_token
from node.settings import Settings
from tests.helpers.db import IssuerFixture, count_rows
from tests.helpers.problems import assert_problem
from tests.helpers.vectors import vc2_credential

SIGNER = LocalSigner.generate()
DID = did_key(SIGNER.public_key)
HOLDER = LocalSigner.generate()


@pytest.fixture
def db_url(tmp_path):
    """SQLite only: these routes add no storage of their own (issuance's path runs on PostgreSQL in
    test_vc_issuance.py); the fresh schema per test is what costs."""
    return f"sqlite:///{tmp_path / 'vcapi.db'}"


@pytest.fixture
def settings(db_url, tmp_path):
    secret = encode_secret_multikey(KeyType.ED25519, SIGNER.export_private_bytes())
    return Settings(
        data_dir=tmp_path / "data", database_url=db_url, credential_key=SecretStr(secret), _env_file=None
    )


@pytest.fixture
def issuer(session_factory, settings) -> IssuerFixture:
    from node.auth.credential_keys import attach_configured_keys

    with session_factory() as s:
        iss = create_issuer(s, "vcapi-uni", "0x" + "cd" * 20, did=DID)
        tok = create_token(s, iss.id, "issuer", "t")
        rd = create_token(s, iss.id, "reader", "r")
        s.commit()
        attach_configured_keys(s, settings, iss)
        return IssuerFixture(iss.id, iss.name, iss.address, tok.token, rd.token)


def _plain(n: int) -> dict:
    """A credential signed by the issuer's key outside the node, without status entries."""
    return add_proof(vc2_credential(DID, n), SIGNER)


@pytest.mark.parametrize("suite", [None, "eddsa-rdfc-2022"])
def test_issue_answers_201_with_the_signed_vc_the_node_stores(client, issuer, suite):
    options = {"cryptosuite": suite} if suite else {}
    r = client.post(
        "/credentials/issue",
        headers=issuer.headers,
        json={"credential": vc2_credential(DID, 1), "options": options},
    )
    assert r.status_code == 201, r.text
    signed = r.json()["verifiableCredential"]
    [check] = verify_proofs(signed, DidResolver(fetch=None))
    assert check.valid and check.cryptosuite == (suite or "eddsa-jcs-2022")
    assert {e["type"] for e in signed["credentialStatus"]} == {"BitstringStatusListEntry"}
    digest = to_hex(keccak256(canonicalize(signed)))
    assert r.headers["location"].endswith(f"/v1/credentials/{digest}")
    assert client.get(f"/v1/credentials/{digest}/vc", headers=issuer.headers).json() == signed


ISSUE_BAD = [
    ({}, "credential"),
    ({"credential": "not an object"}, "credential"),
    ({"credential": {}, "extra": 1}, "extra"),
    ({"credential": {}, "options": []}, "options"),
    ({"credential": {}, "options": {"cryptosuite": "rsa-2048"}}, "options.cryptosuite"),
    ({"credential": {}, "options": {"proofType": "Ed25519Signature2018"}}, "options.proofType"),
    ({"credential": {}, "options": {"nonsense": "x"}}, "options.nonsense"),
]


def test_issue_bad_bodies_are_400_naming_the_member(client, issuer, engine):
    for body, field in ISSUE_BAD:
        assert_problem(client.post("/credentials/issue", headers=issuer.headers, json=body), 400, field)
    assert count_rows(engine, "credential") == 0


def test_issue_refuses_a_credential_breaking_the_data_model_with_400_under_credential(client, issuer, engine):
    bad = {k: v for k, v in vc2_credential(DID, 2).items() if k != "type"}
    body = assert_problem(
        client.post("/credentials/issue", headers=issuer.headers, json={"credential": bad}), 400
    )
    assert "/credential/type" in [e["pointer"] for e in body["errors"]]
    assert count_rows(engine, "credential") == 0


def test_issue_needs_an_issuer_token(client, issuer, engine):
    body = {"credential": vc2_credential(DID, 3)}
    assert_problem(client.post("/credentials/issue", json=body), 401)
    reader = {"Authorization": f"Bearer {issuer.reader_token}"}
    assert client.post("/credentials/issue", headers=reader, json=body).status_code == 403
    assert count_rows(engine, "credential") == 0


def test_verify_a_signed_unanchored_credential_is_verified_with_a_warning(client, issuer):
    r = client.post("/credentials/verify", json={"verifiableCredential": _plain(4), "options": {}})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["verified"] is True and result["errors"] == []
    assert {"proof", "expiration", "credentialStatus"} <= set(result["checks"])
    [warning] = result["warnings"]
    assert warning["type"].endswith("signed-not-anchored")


def test_verify_a_tampered_credential_is_400_with_a_proof_error(client, issuer):
    tampered = copy.deepcopy(_plain(5))
    tampered["name"] = "Course 999"
    r = client.post("/credentials/verify", json={"verifiableCredential": tampered})
    body = assert_problem(r, 400)
    assert body["verified"] is False and "proof" in body["checks"]
    assert [e["type"] for e in body["errors"]] == ["urn:credreg:problem:proof-failed"]
    assert "altered" in body["errors"][0]["detail"]


def test_verify_an_expired_credential_names_expiration(client, issuer):
    old = add_proof({**vc2_credential(DID, 6), "validUntil": "2025-06-01T00:00:00Z"}, SIGNER)
    body = assert_problem(client.post("/credentials/verify", json={"verifiableCredential": old}), 400)
    assert [e["type"] for e in body["errors"]] == ["urn:credreg:problem:expiration-failed"]


VERIFY_BAD = [
    ({}, "verifiableCredential"),
    ({"verifiableCredential": []}, "verifiableCredential"),
    ({"verifiableCredential": {"format": "credreg-bundle/2"}}, "verifiableCredential"),
    ({"credential": {}}, "credential"),
    ({"verifiableCredential": {"@context": []}, "options": {"challenge": 5}}, "options.challenge"),
]


def test_verify_bad_bodies_are_400_naming_the_member(client):
    for body, field in VERIFY_BAD:
        assert_problem(client.post("/credentials/verify", json=body), 400, field)
    not_json = client.post("/credentials/verify", content=b"{", headers={"Content-Type": "application/json"})
    assert_problem(not_json, 400)


def test_verify_an_unsigned_credential_fails_on_format(client):
    body = assert_problem(
        client.post("/credentials/verify", json={"verifiableCredential": vc2_credential(DID, 7)}), 400
    )
    assert body["checks"] == ["format"] and "not signed" in body["errors"][0]["detail"]


def _vp(*credentials: dict) -> dict:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": did_key(HOLDER.public_key),
        "verifiableCredential": list(credentials),
    }


def test_presentation_proof_and_every_credential_are_verified(client, issuer):
    vp = add_proof(_vp(_plain(8), _plain(9)), HOLDER, proof_purpose="authentication")
    r = client.post("/presentations/verify", json={"verifiablePresentation": vp})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["verified"] is True and result["checks"] == ["proof", "credentials"]
    assert [c["verified"] for c in result["credentialResults"]] == [True, True]

    tampered = copy.deepcopy(vp)
    tampered["verifiableCredential"][1]["name"] = "forged"  # breaks the VP proof and the credential's
    body = assert_problem(
        client.post("/presentations/verify", json={"verifiablePresentation": tampered}), 400
    )
    details = [e["detail"] for e in body["errors"]]
    assert any(d.startswith("presentation:") for d in details)
    assert any(d.startswith("verifiableCredential[1]:") for d in details)
    assert [c["verified"] for c in body["credentialResults"]] == [True, False]


def test_presentation_challenge_is_checked(client, issuer):
    vp = add_proof(_vp(_plain(10)), HOLDER, proof_purpose="authentication")
    r = client.post(
        "/presentations/verify", json={"verifiablePresentation": vp, "options": {"challenge": "n-1"}}
    )
    body = assert_problem(r, 400)
    assert [e["type"] for e in body["errors"]] == ["urn:credreg:problem:challenge-failed"]
    unsigned = client.post(
        "/presentations/verify", json={"verifiablePresentation": _vp(), "options": {"challenge": "n-1"}}
    )
    assert assert_problem(unsigned, 400)["errors"][0]["type"] == "urn:credreg:problem:proof-failed"


VP_BAD = [
    ({"type": ["VerifiablePresentation"]}, "verifiablePresentation.@context"),
    ({"@context": [], "type": ["VerifiableCredential"]}, "verifiablePresentation.type"),
    (
        {"@context": [], "type": "VerifiablePresentation", "verifiableCredential": "x"},
        "verifiablePresentation.verifiableCredential",
    ),
]


def test_presentation_bad_bodies_are_400_naming_the_member(client):
    for vp, field in VP_BAD:
        assert_problem(client.post("/presentations/verify", json={"verifiablePresentation": vp}), 400, field)
