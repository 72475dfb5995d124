"""Issuer credential-signing keys: encrypted files and the environment, the verification method per DID
method, attaching the configured key to an issuer row, and the DID documents the node serves."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import select

from anchoring.signing import DidResolver, KeyType, LocalSigner, add_proof, did_key, verify_proofs
from anchoring.signing.multikey import encode_secret_multikey
from node.auth.credential_keys import (
    attach_configured_keys,
    load_credential_signer,
    read_key_file,
    verification_method_id,
    write_key_file,
)
from node.auth.tokens import create_issuer
from node.errors import ConfigurationError
from node.settings import Settings
from node.storage.db import make_engine, session_factory, upgrade
from node.storage.models import Issuer
from tests.helpers.vectors import vc2_credential


def _settings(tmp_path, **kw) -> Settings:
    return Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'n.db'}", _env_file=None, **kw)


@pytest.fixture
def factory(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'n.db'}")
    upgrade(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.mark.parametrize("key_type", [KeyType.ED25519, KeyType.P256])
def test_key_file_round_trip_is_encrypted_and_0600(tmp_path, key_type):
    signer = LocalSigner.generate(key_type)
    path = write_key_file(signer, tmp_path / "k.pem", "correct horse")
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    assert "ENCRYPTED PRIVATE KEY" in text
    assert signer.export_private_bytes().hex() not in text
    again = read_key_file(path, "correct horse")
    assert again.public_key_multibase == signer.public_key_multibase and again.key_type == key_type
    with pytest.raises(ConfigurationError, match="wrong password") as info:
        read_key_file(path, "wrong")
    assert "correct horse" not in str(info.value)
    with pytest.raises(ConfigurationError, match="not found"):
        read_key_file(tmp_path / "missing.pem", "x")
    with pytest.raises(ConfigurationError, match="encrypted"):
        read_key_file(path, None)


def test_verification_method_per_did_method():
    signer = LocalSigner.generate()
    mb = signer.public_key_multibase
    assert verification_method_id(did_key(mb), mb, KeyType.ED25519) == f"{did_key(mb)}#{mb}"
    web = "did:web:uni.example:issuers:law"
    assert verification_method_id(web, mb, KeyType.ED25519) == web + "#key-ed25519"
    assert verification_method_id(web, mb, KeyType.P256) == web + "#key-p256"
    with pytest.raises(ConfigurationError, match="not the did:key of its signing key"):
        verification_method_id(did_key(LocalSigner.generate().public_key), mb, KeyType.ED25519)
    with pytest.raises(ConfigurationError, match="neither did:web nor did:key"):
        verification_method_id("did:example:uni", mb, KeyType.ED25519)
    with pytest.raises(ConfigurationError, match="no DID"):
        verification_method_id(None, mb, KeyType.ED25519)


def test_configured_file_key_is_attached_and_signs_verifiably(tmp_path, factory):
    signer = LocalSigner.generate()
    password_file = tmp_path / "pw"
    password_file.write_text("s3cret\n")
    settings = _settings(tmp_path, credential_key_password_file=password_file)
    write_key_file(signer, settings.credential_key_file, "s3cret")
    did = did_key(signer.public_key)
    with factory() as s:
        issuer = create_issuer(s, "uni", "0x" + "22" * 20, did)
        s.commit()
        assert attach_configured_keys(s, settings, issuer) is True
        assert attach_configured_keys(s, settings, issuer) is False  # once
        row = s.exec(select(Issuer).where(Issuer.name == "uni")).one()
        assert row.signing_key_ref == f"file:{settings.credential_key_file.resolve()}"
        assert row.verification_key == signer.public_key_multibase
        loaded = load_credential_signer(settings, row)
    assert loaded.verification_method == f"{did}#{signer.public_key_multibase}"
    signed = add_proof(vc2_credential(did, 1), loaded, cryptosuite="eddsa-jcs-2022")
    assert all(p.valid for p in verify_proofs(signed, DidResolver(fetch=None)))


def test_env_key_and_its_errors(tmp_path, factory, monkeypatch):
    signer = LocalSigner.generate()
    secret = encode_secret_multikey(KeyType.ED25519, signer.export_private_bytes())
    settings = _settings(tmp_path, credential_key=SecretStr(secret))
    with factory() as s:
        issuer = create_issuer(s, "uni", "0x" + "33" * 20, "did:web:uni.example:issuers:uni")
        s.commit()
        attach_configured_keys(s, settings, issuer)
        assert issuer.signing_key_ref == "env:CREDREG_CREDENTIAL_KEY"
        assert secret not in repr(issuer.model_dump())
        loaded = load_credential_signer(settings, issuer)
        assert loaded.verification_method == "did:web:uni.example:issuers:uni#key-ed25519"
        with pytest.raises(ConfigurationError, match="no P-256"):
            load_credential_signer(settings, issuer, KeyType.P256)
        other = create_issuer(s, "other", "0x" + "44" * 20, "did:example:other")
        s.commit()
        with pytest.raises(ConfigurationError, match="neither did:web nor did:key"):
            attach_configured_keys(s, settings, other)
        other.signing_key_ref = "env:CREDREG_TEST_MISSING_KEY"
        monkeypatch.delenv("CREDREG_TEST_MISSING_KEY", raising=False)
        with pytest.raises(ConfigurationError, match="is not set"):
            load_credential_signer(settings, other)
        other.signing_key_ref = "vault:x"
        with pytest.raises(ConfigurationError, match="unknown credential key reference"):
            load_credential_signer(settings, other)


def test_did_web_documents_served(tmp_path, factory):
    from api.app import create_app

    ed, p256 = LocalSigner.generate(), LocalSigner.generate(KeyType.P256)
    settings = _settings(tmp_path)
    with factory() as s:
        law = create_issuer(s, "law", "0x" + "55" * 20, "did:web:testserver:issuers:law")
        law.verification_key, law.verification_key_p256 = ed.public_key_multibase, p256.public_key_multibase
        law.signing_key_ref = "env:X"
        host = create_issuer(s, "host", "0x" + "66" * 20, "did:web:testserver")
        host.verification_key, host.signing_key_ref = ed.public_key_multibase, "env:X"
        create_issuer(s, "plain", "0x" + "77" * 20, "did:example:plain")
        s.commit()
    app = create_app(settings, engine=factory.kw["bind"])
    with TestClient(app, raise_server_exceptions=False) as client:
        doc = client.get("/issuers/law/did.json")
        assert doc.status_code == 200, doc.text
        body = doc.json()
        assert body["id"] == "did:web:testserver:issuers:law"
        assert [m["publicKeyMultibase"] for m in body["verificationMethod"]] == [
            ed.public_key_multibase,
            p256.public_key_multibase,
        ]
        assert body["assertionMethod"] == [
            "did:web:testserver:issuers:law#key-ed25519",
            "did:web:testserver:issuers:law#key-p256",
        ]
        resolver = DidResolver(fetch=None)
        resolver.add_document(body)
        assert resolver.resolve(body["assertionMethod"][0]).public_key.multibase == ed.public_key_multibase
        assert client.get("/.well-known/did.json").json()["id"] == "did:web:testserver"
        for missing in ("/issuers/plain/did.json", "/issuers/nobody/did.json"):
            r = client.get(missing)
            assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
