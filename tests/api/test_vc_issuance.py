"""Issuance as a W3C VC issuer: the VC data model checked (422 naming the pointer, nothing stored), the issuer
bound to the token, the credential signed (eddsa-jcs-2022 by default, eddsa-rdfc-2022 or VC-JWT on request),
digest = keccak256(JCS(signed VC)) so a wallet finds the proof, pre-signed credentials anchored as they are, the
learner's plain VC served, bundles of format 2 that verify."""

from __future__ import annotations

import copy

import pytest
from pydantic import SecretStr

from anchoring.bundle import load as load_bundle
from anchoring.chain.deployment import Deployment
from anchoring.scheme.encoding import to_hex
from anchoring.scheme.jcs import canonicalize
from anchoring.scheme.keccak import keccak256
from anchoring.signing import (
    DidResolver,
    KeyType,
    LocalSigner,
    add_proof,
    did_key,
    envelope,
    sign_vc_jwt,
    unenvelope,
    verify_proofs,
    verify_vc_jwt,
)
from anchoring.signing.multikey import encode_secret_multikey
from anchoring.signing.vcjwt import decode_vc_jwt
from node.auth.tokens import create_issuer, create_token
from node.pipeline import batches, sealer
from node.settings import Settings
from node.storage.models import Batch
from tests.helpers.db import IssuerFixture, count_rows
from tests.helpers.problems import assert_problem
from tests.helpers.vectors import vc2_credential

SIGNER = LocalSigner.generate()
DID = did_key(SIGNER.public_key)


@pytest.fixture
def settings(db_url, tmp_path):
    secret = encode_secret_multikey(KeyType.ED25519, SIGNER.export_private_bytes())
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        credential_key=SecretStr(secret),
        _env_file=None,
    )  # vc_validation: the default (strict)


@pytest.fixture
def issuer(session_factory, settings) -> IssuerFixture:
    from node.auth.credential_keys import attach_configured_keys

    with session_factory() as s:
        iss = create_issuer(s, "signing-uni", "0x" + "ab" * 20, did=DID)
        tok = create_token(s, iss.id, "issuer", "t")
        rd = create_token(s, iss.id, "reader", "r")
        s.commit()
        attach_configured_keys(s, settings, iss)
        return IssuerFixture(iss.id, iss.name, iss.address, tok.token, rd.token)


def vc(n: int = 1, **extra) -> dict:
    return {**vc2_credential(DID, n), **extra}


def _without(d: dict, key: str) -> dict:
    return {k: v for k, v in d.items() if k != key}


MUST_REJECT = {
    "no type": (lambda: _without(vc(), "type"), "type"),
    "type without VerifiableCredential": (lambda: vc(type=["OpenBadgeCredential"]), "type"),
    "no base context": (
        lambda: vc(**{"@context": ["https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]}),
        "@context.0",
    ),
    "no context": (lambda: _without(vc(), "@context"), "@context"),
    "no subject": (lambda: _without(vc(), "credentialSubject"), "credentialSubject"),
    "validFrom not a date": (lambda: vc(validFrom="PAST DATE"), "validFrom"),
    "validFrom without time zone": (lambda: vc(validFrom="2026-01-01T00:00:00"), "validFrom"),
    "validUntil before validFrom": (lambda: vc(validUntil="2024-01-01T00:00:00Z"), "validUntil"),
    "issuer not a URL": (lambda: vc(issuer="Dev University"), "issuer"),
    "issuer object without id": (lambda: vc(issuer={"name": "Dev University"}), "issuer.id"),
    "id not a URL": (lambda: vc(id="not a url"), "id"),
    "credentialStatus without type": (
        lambda: vc(credentialStatus={"id": "https://x.example/1"}),
        "credentialStatus.type",
    ),
    "evidence item without type": (lambda: vc(evidence=[{"id": "https://x.example/e"}]), "evidence.0.type"),
}


@pytest.mark.parametrize("case", list(MUST_REJECT))
def test_each_vc_data_model_violation_is_a_422_naming_its_pointer(client, issuer, engine, case):
    build, field = MUST_REJECT[case]
    body = assert_problem(client.post("/v1/credentials", headers=issuer.headers, json=build()), 422, field)
    pointer = "/" + field.replace(".", "/")
    assert pointer in [e["pointer"] for e in body["errors"]]
    assert count_rows(engine, "credential") == 0


def test_issuer_mismatch_names_both_and_an_absent_issuer_is_filled_in(client, issuer, engine):
    other = vc2_credential("did:example:someone-else", 2)
    body = assert_problem(
        client.post("/v1/credentials", headers=issuer.headers, json=other), 422, "issuer.id"
    )
    message = body["errors"][0]["message"]
    assert "did:example:someone-else" in message and DID in message
    bulk = [vc(3), other]
    body = assert_problem(client.post("/v1/credentials/bulk", headers=issuer.headers, json=bulk), 422)
    assert [e["pointer"] for e in body["errors"]] == ["/1/issuer/id"]
    assert count_rows(engine, "credential") == 0
    r = client.post("/v1/credentials", headers=issuer.headers, json=_without(vc(4), "issuer"))
    assert r.status_code == 202, r.text
    plain = client.get(f"/v1/credentials/{r.json()['digest']}/vc", headers=issuer.headers).json()
    assert plain["issuer"] == DID


@pytest.mark.parametrize("proof", [None, "eddsa-rdfc-2022", "vc-jwt"])
def test_signed_at_issuance_and_the_wallet_digest_finds_the_proof(client, issuer, proof):
    params = {"proof": proof} if proof else {}
    r = client.post("/v1/credentials", headers=issuer.headers, json=vc(5), params=params)
    assert r.status_code == 202, r.text
    digest = r.json()["digest"]
    got = client.get(f"/v1/credentials/{digest}/vc", headers=issuer.headers)
    assert got.status_code == 200 and got.headers["cache-control"] == "no-store"
    plain = got.json()
    resolver = DidResolver(fetch=None)
    if proof == "vc-jwt":
        token = unenvelope(plain)
        assert token is not None and verify_vc_jwt(token, resolver).valid
        assert decode_vc_jwt(token)[0]["kid"] == f"{DID}#{SIGNER.public_key_multibase}"
        wallet_digest = keccak256(token.encode())  # digest rule compact
        raw = client.get(
            f"/v1/credentials/{digest}/vc", headers={**issuer.headers, "Accept": "application/vc+jwt"}
        )
        assert raw.text == token and raw.headers["content-type"].startswith("application/vc+jwt")
    else:
        [check] = verify_proofs(plain, resolver)
        assert check.valid and check.cryptosuite == (proof or "eddsa-jcs-2022")
        assert check.verification_method == f"{DID}#{SIGNER.public_key_multibase}"
        wallet_digest = keccak256(canonicalize(plain))  # digest rule jcs, no salt
    assert to_hex(wallet_digest) == digest
    assert client.get(f"/v1/proofs/{digest}").json()["state"] == "pending"


def test_unknown_or_unusable_proof_type_is_a_422(client, issuer, session_factory):
    assert_problem(
        client.post("/v1/credentials", headers=issuer.headers, json=vc(6), params={"proof": "rsa"}),
        422,
        "query.proof",
    )
    assert_problem(
        client.post("/v1/credentials", headers=issuer.headers, json=vc(6), params={"proof": "vc-jwt-es256"}),
        422,
        "query.proof",
    )


def test_rdfc_refuses_an_unknown_context_naming_it(client, issuer, engine):
    doc = vc(7, **{"@context": ["https://www.w3.org/ns/credentials/v2", "https://unknown.example/ctx.json"]})
    body = assert_problem(
        client.post("/v1/credentials", headers=issuer.headers, json=doc, params={"proof": "eddsa-rdfc-2022"}),
        422,
    )
    assert "https://unknown.example/ctx.json" in body["errors"][0]["message"]
    assert count_rows(engine, "credential") == 0


def test_idempotent_replay_of_a_signed_credential(client, issuer, engine):
    a = client.post("/v1/credentials", headers=issuer.headers, json=vc(8))
    b = client.post("/v1/credentials", headers=issuer.headers, json=vc(8))
    assert a.status_code == b.status_code == 202
    assert a.json()["digest"] == b.json()["digest"] and b.json()["created"] is False
    changed = vc(8)
    changed["name"] = "another"
    assert_problem(client.post("/v1/credentials", headers=issuer.headers, json=changed), 409)
    assert count_rows(engine, "credential") == 1


def test_presigned_credentials_are_anchored_as_they_are_and_foreign_keys_refused(client, issuer, engine):
    signed = add_proof(vc(9), SIGNER, cryptosuite="eddsa-rdfc-2022")
    r = client.post("/v1/credentials", headers=issuer.headers, json=signed)
    assert r.status_code == 202, r.text
    assert r.json()["digest"] == to_hex(keccak256(canonicalize(signed)))
    assert client.get(f"/v1/credentials/{r.json()['digest']}/vc", headers=issuer.headers).json() == signed
    token = sign_vc_jwt(vc(10), SIGNER)
    r = client.post("/v1/credentials", headers=issuer.headers, json=envelope(token))
    assert r.status_code == 202, r.text
    assert r.json()["digest"] == to_hex(keccak256(token.encode()))
    stranger = LocalSigner.generate()
    foreign = add_proof(
        vc2_credential(DID, 11), stranger.with_verification_method(f"{DID}#{SIGNER.public_key_multibase}")
    )
    assert_problem(client.post("/v1/credentials", headers=issuer.headers, json=foreign), 422, "proof")
    tampered = copy.deepcopy(signed)
    tampered["name"] = "Forged"
    assert_problem(client.post("/v1/credentials", headers=issuer.headers, json=tampered), 422, "proof")
    assert_problem(
        client.post("/v1/credentials", headers=issuer.headers, json=envelope(sign_vc_jwt(vc(12), stranger))),
        422,
        "id",
    )
    assert count_rows(engine, "credential") == 2


def test_bundle_wraps_the_signed_vc_under_its_digest_rule(client, issuer, session_factory, settings):
    r = client.post("/v1/credentials/bulk", headers=issuer.headers, json=[vc(13), vc(14)])
    assert r.status_code == 202, r.text
    r2 = client.post("/v1/credentials", headers=issuer.headers, json=vc(15), params={"proof": "vc-jwt"})
    contract = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    Deployment(31337, "0x" + "77" * 20, contract, 1).save(settings.deployment_file)
    [bid] = sealer.seal_due_batches(session_factory, settings, force=True)
    with session_factory() as s:
        b = s.get(Batch, bid)
        batches.record_submission(
            s, b, nonce=0, tx_hash="0x" + "12" * 32, chain_id=31337, contract_address=contract
        )
        batches.record_confirmation(
            s, b, block_number=3, block_hash="0x" + "34" * 32, confirmations=1, block_timestamp=1_780_000_000
        )
    for digest, rule in [(r.json()["digests"][0], "jcs"), (r2.json()["digest"], "compact")]:
        doc = client.get(f"/v1/credentials/{digest}/bundle", headers=issuer.headers).json()
        assert doc["format"] == "credreg-bundle/2" and doc["digestRule"] == rule and "salt" not in doc
        bundle = load_bundle(doc)  # digest recomputed, proof folded
        plain = client.get(f"/v1/credentials/{digest}/vc", headers=issuer.headers).json()
        assert bundle.credential == (unenvelope(plain) or plain)


def test_issued_credentials_carry_status_entries_pointing_at_signed_lists(client, issuer):
    r = client.post("/v1/credentials/bulk", headers=issuer.headers, json=[vc(20), vc(21)])
    assert r.status_code == 202, r.text
    jwt = client.post("/v1/credentials", headers=issuer.headers, json=vc(22), params={"proof": "vc-jwt"})
    plains = [
        client.get(f"/v1/credentials/{d}/vc", headers=issuer.headers).json() for d in r.json()["digests"]
    ]
    plains.append(
        decode_vc_jwt(
            unenvelope(
                client.get(f"/v1/credentials/{jwt.json()['digest']}/vc", headers=issuer.headers).json()
            )
        )[1]
    )
    indexes = set()
    for plain in plains:
        entries = plain["credentialStatus"]
        assert [e["type"] for e in entries] == ["BitstringStatusListEntry"] * 2
        assert sorted(e["statusPurpose"] for e in entries) == ["revocation", "suspension"]
        indexes |= {(e["statusPurpose"], e["statusListIndex"]) for e in entries}
    assert len(indexes) == 6  # random and distinct per list
    resolver = DidResolver(fetch=None)
    for url in {e["statusListCredential"] for e in plains[0]["credentialStatus"]}:
        served = client.get(url.replace("http://testserver", "")).json()
        assert served["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
        assert served["issuer"] == DID
        [check] = verify_proofs(served, resolver)
        assert check.valid and check.method.public_key.multibase == SIGNER.public_key_multibase
