"""anchoring.signing beyond the published vectors: keys and Multikeys, DIDs and resolution (through an in-memory
fetcher), proof sets, the key hash and binding rule, and the bad inputs each refuses."""

from __future__ import annotations

import copy
import json

import pytest

from anchoring.chain.contracts import KeyRecord
from anchoring.errors import FormatError, ResolutionError
from anchoring.scheme.keccak import keccak256
from anchoring.signing import (
    CredentialSigner,
    DidResolver,
    Fetched,
    KeyType,
    LocalSigner,
    PublicKey,
    UnknownContext,
    VerificationMethod,
    add_proof,
    check_key_binding,
    did_key,
    did_key_document,
    did_web_document,
    did_web_url,
    envelope,
    key_hash,
    rdf_canonicalize,
    sign_vc_jwt,
    unenvelope,
    verify_proofs,
    verify_vc_jwt,
)
from anchoring.signing.binding import BOUND, NOT_REGISTERED, NOT_YET_VALID, REVOKED
from anchoring.signing.vcjwt import decode_vc_jwt, sign_jws
from tests.helpers.vectors import DI, read_json, vc2_credential

OFFLINE = DidResolver(fetch=None)


class DictFetcher:
    """An in-memory Fetcher: URL -> JSON document; any other URL is unreachable. Counts requests."""

    def __init__(self, documents: dict[str, object]):
        self.documents = documents
        self.requests: list[str] = []

    def __call__(self, url: str) -> Fetched:
        self.requests.append(url)
        if url not in self.documents:
            raise ResolutionError(url, "connection refused")
        return Fetched(url, "application/json", json.dumps(self.documents[url]).encode())


# ------------------------------------------------------------------------------------------------ keys
@pytest.mark.parametrize("key_type", [KeyType.ED25519, KeyType.P256])
def test_local_signer_implements_the_protocol_and_round_trips(key_type) -> None:
    signer = LocalSigner.generate(key_type)
    assert isinstance(signer, CredentialSigner)
    assert signer.public_key_multibase.startswith("z6Mk" if key_type == KeyType.ED25519 else "zDn")
    assert "d" not in signer.public_jwk
    sig = signer.sign(b"data")
    assert len(sig) == 64
    key = PublicKey.from_multibase(signer.public_key_multibase)
    assert key.verify(b"data", sig) and not key.verify(b"datA", sig)
    assert PublicKey.from_jwk(signer.public_jwk) == key
    again = LocalSigner.from_private_bytes(key_type, signer.export_private_bytes())
    assert again.public_key_multibase == signer.public_key_multibase
    assert "export" not in repr(signer) and signer.export_private_bytes().hex() not in repr(signer)


def test_key_hash_is_keccak_of_the_multibase_string() -> None:
    mb = read_json(DI / "keyPair.json")["publicKeyMultibase"]
    assert key_hash(mb) == keccak256(mb.encode("utf-8"))
    assert PublicKey.from_multibase(mb).key_hash == key_hash(mb)
    with pytest.raises(FormatError):
        key_hash("not-multibase")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "6Mkabc",
        "z0OIl",
        "z" + "1" * 10,
        "zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
    ],  # last: secp256k1
)
def test_bad_multikeys_are_format_errors(bad) -> None:
    with pytest.raises(FormatError):
        PublicKey.from_multibase(bad)


def test_bad_jwks_are_format_errors() -> None:
    for jwk in (
        {"kty": "RSA", "n": "x", "e": "AQAB"},
        {"kty": "OKP", "crv": "X25519", "x": "AA"},
        "jwk",
        {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
    ):
        with pytest.raises(FormatError):
            PublicKey.from_jwk(jwk)


# ------------------------------------------------------------------------------------------------ DIDs
def test_did_key_document_lists_the_key_for_assertion() -> None:
    signer = LocalSigner.generate()
    did = did_key(signer.public_key)
    doc = did_key_document(did)
    assert doc["id"] == did and doc["assertionMethod"] == [signer.verification_method]
    vm = OFFLINE.resolve(signer.verification_method)
    assert vm.public_key == signer.public_key and "assertionMethod" in (vm.purposes or ())
    with pytest.raises(FormatError):
        OFFLINE.resolve(did + "#other")
    with pytest.raises(FormatError):
        did_key_document("did:key:zNotAKey")


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:uni.example", "https://uni.example/.well-known/did.json"),
        ("did:web:uni.example:issuers:law", "https://uni.example/issuers/law/did.json"),
        ("did:web:127.0.0.1%3A8443:issuers:a", "https://127.0.0.1:8443/issuers/a/did.json"),
    ],
)
def test_did_web_urls(did, url) -> None:
    assert did_web_url(did) == url


@pytest.mark.parametrize("bad", ["did:web:", "did:key:z6Mk", "did:web:a:b::c", "did:web:ex ample"])
def test_bad_did_web_is_a_format_error(bad) -> None:
    with pytest.raises(FormatError):
        did_web_url(bad)


def test_did_web_resolves_through_the_fetcher_once_and_checks_the_document() -> None:
    did = "did:web:uni.example:issuers:law"
    signer = LocalSigner.generate(verification_method=did + "#key-1")
    doc = did_web_document(
        did, [{"id": "#key-1", "type": "Multikey", "publicKeyMultibase": signer.public_key_multibase}]
    )
    fetch = DictFetcher({did_web_url(did): doc})
    resolver = DidResolver(fetch=fetch)
    vm = resolver.resolve(did + "#key-1")
    assert vm.public_key == signer.public_key and vm.source == "did:web" and vm.controller == did
    resolver.resolve(did + "#key-1")
    assert fetch.requests == [did_web_url(did)]  # cached
    with pytest.raises(FormatError, match="no verification method"):
        resolver.resolve(did + "#key-2")
    # a document that names another DID is refused
    wrong = DidResolver(fetch=DictFetcher({did_web_url(did): {**doc, "id": "did:web:evil.example"}}))
    with pytest.raises(FormatError, match="names itself"):
        wrong.resolve(did + "#key-1")


def test_unreachable_did_web_and_unknown_methods_are_resolution_errors_not_failures() -> None:
    resolver = DidResolver(fetch=DictFetcher({}))
    with pytest.raises(ResolutionError):
        resolver.resolve("did:web:down.example#key-1")
    with pytest.raises(ResolutionError, match="not supported"):
        resolver.resolve("did:example:123#key-1")
    with pytest.raises(ResolutionError, match="offline"):
        OFFLINE.resolve("did:web:uni.example#key-1")


def test_a_published_method_must_not_carry_its_secret() -> None:
    signer = LocalSigner.generate()
    with pytest.raises(FormatError, match="secret"):
        VerificationMethod.parse(
            {"id": "did:web:a#k", "type": "JsonWebKey", "publicKeyJwk": {**signer.public_jwk, "d": "AAAA"}}
        )


# ------------------------------------------------------------------------------------------------ proofs
@pytest.mark.parametrize("suite", ["eddsa-jcs-2022", "eddsa-rdfc-2022"])
def test_sign_verify_and_every_tampering_refused(suite) -> None:
    signer = LocalSigner.generate()
    signed = add_proof(vc2_credential(did_key(signer.public_key)), signer, cryptosuite=suite)
    [ok] = verify_proofs(signed, OFFLINE)
    assert ok.valid, ok.reason
    for mutate in (
        lambda d: d["credentialSubject"]["achievement"].update(name="Mallory"),
        lambda d: d["proof"].update(verificationMethod=LocalSigner.generate().verification_method),
        lambda d: d["proof"].update(proofValue=d["proof"]["proofValue"][:-2] + "11"),
        lambda d: d["proof"].update(proofPurpose="authentication"),
    ):
        bad = copy.deepcopy(signed)
        mutate(bad)
        [result] = verify_proofs(bad, OFFLINE)
        assert not result.valid, suite


def test_proof_set_of_two_co_issuers_each_verifies_independently() -> None:
    a, b = LocalSigner.generate(), LocalSigner.generate()
    doc = vc2_credential(did_key(a.public_key))
    signed = add_proof(add_proof(doc, a, cryptosuite="eddsa-rdfc-2022"), b, cryptosuite="eddsa-jcs-2022")
    assert isinstance(signed["proof"], list) and len(signed["proof"]) == 2
    results = verify_proofs(signed, OFFLINE)
    assert [r.valid for r in results] == [True, True]
    assert [r.method.public_key for r in results if r.method] == [a.public_key, b.public_key]
    # removing one proof leaves the other valid: proofs of a set do not cover each other
    single = copy.deepcopy(signed)
    single["proof"] = signed["proof"][1]
    assert verify_proofs(single, OFFLINE)[0].valid


def test_proof_chain_covers_the_previous_proof() -> None:
    a, b = LocalSigner.generate(), LocalSigner.generate()
    first = add_proof(vc2_credential(did_key(a.public_key)), a, proof_id="urn:proof:1")
    chained = add_proof(first, b, previous_proof="urn:proof:1")
    assert [r.valid for r in verify_proofs(chained, OFFLINE)] == [True, True]
    tampered = copy.deepcopy(chained)
    tampered["proof"][0]["created"] = "2001-01-01T00:00:00Z"
    results = verify_proofs(tampered, OFFLINE)
    assert not results[0].valid and not results[1].valid  # the chained proof covered the first


def test_p256_keys_cannot_make_eddsa_proofs() -> None:
    with pytest.raises(FormatError, match="Ed25519"):
        add_proof(vc2_credential("did:example:x"), LocalSigner.generate(KeyType.P256))


def test_undefined_terms_are_refused_for_rdfc_never_dropped() -> None:
    """pyld would silently drop a term no context defines (the signature would not cover it): refused."""
    from anchoring.signing.jsonld import UndefinedTerm

    doc = vc2_credential("did:example:x")
    doc["credentialSubject"]["favouriteColour"] = "blue"
    with pytest.raises(UndefinedTerm, match="favouriteColour"):
        add_proof(doc, LocalSigner.generate(), cryptosuite="eddsa-rdfc-2022")
    doc = vc2_credential("did:example:x")
    doc["type"].append("MadeUpCredential")
    with pytest.raises(UndefinedTerm, match="MadeUpCredential"):
        rdf_canonicalize(doc)
    # a signed credential that gained an undefined term after signing does not verify
    signer = LocalSigner.generate()
    signed = add_proof(vc2_credential(did_key(signer.public_key)), signer, cryptosuite="eddsa-rdfc-2022")
    signed["credentialSubject"]["extra"] = "smuggled"
    [result] = verify_proofs(signed, OFFLINE)
    assert not result.valid and "extra" in result.reason
    # jcs signs the JSON itself: no vocabulary needed
    assert verify_proofs(add_proof(doc, signer, cryptosuite="eddsa-jcs-2022"), OFFLINE)[0].method is not None


def test_unknown_context_is_a_format_error_naming_it_and_nothing_is_fetched() -> None:
    doc = vc2_credential("did:example:x")
    doc["@context"] = [*doc["@context"], "https://contexts.example/evil.jsonld"]
    with pytest.raises(UnknownContext) as caught:
        rdf_canonicalize(doc)
    assert caught.value.url == "https://contexts.example/evil.jsonld"
    with pytest.raises(UnknownContext):
        add_proof(doc, LocalSigner.generate(), cryptosuite="eddsa-rdfc-2022")


def test_unresolvable_key_is_an_error_not_a_failure() -> None:
    signer = LocalSigner.generate(verification_method="did:web:down.example#key-1")
    signed = add_proof(vc2_credential("did:web:down.example"), signer)
    [result] = verify_proofs(signed, DidResolver(fetch=DictFetcher({})))
    assert not result.valid and result.error


def test_unsupported_cryptosuite_is_undecided() -> None:
    signed = add_proof(vc2_credential("did:example:x"), LocalSigner.generate())
    signed["proof"]["cryptosuite"] = "ecdsa-sd-2023"
    [result] = verify_proofs(signed, OFFLINE)
    assert result.error and "unsupported" in result.reason


# ------------------------------------------------------------------------------------------------ VC-JWT
@pytest.mark.parametrize("key_type", [KeyType.ED25519, KeyType.P256])
def test_vc_jwt_round_trip_and_tampering(key_type) -> None:
    signer = LocalSigner.generate(key_type)
    cred = vc2_credential(did_key(signer.public_key))
    token = sign_vc_jwt(cred, signer, issued_at=1_700_000_000)
    header, payload = decode_vc_jwt(token)
    assert header == {
        "alg": "EdDSA" if key_type == KeyType.ED25519 else "ES256",
        "cty": "vc",
        "kid": signer.verification_method,
        "typ": "vc+jwt",
    }
    assert payload["iss"] == cred["issuer"]["id"] and payload["iat"] == 1_700_000_000
    assert verify_vc_jwt(token, OFFLINE).valid
    head, _body, sig = token.split(".")
    forged_payload = dict(payload, credentialSubject={"id": "did:example:mallory"})
    forged = sign_jws(header, forged_payload, LocalSigner.generate(key_type)).split(".")[1]
    check = verify_vc_jwt(f"{head}.{forged}.{sig}", OFFLINE)
    assert not check.valid and not check.error
    assert unenvelope(envelope(token)) == token


def test_vc_jwt_header_and_claim_rules() -> None:
    signer = LocalSigner.generate()
    cred = vc2_credential(did_key(signer.public_key))
    cases = {
        "typ": ({"alg": "EdDSA", "kid": signer.verification_method, "typ": "JWT"}, cred),
        "crit": ({"alg": "EdDSA", "kid": signer.verification_method, "crit": ["b64"], "b64": False}, cred),
        "iss": ({"alg": "EdDSA", "kid": signer.verification_method}, {**cred, "iss": "did:example:other"}),
        "not a verifiable credential": ({"alg": "EdDSA", "kid": signer.verification_method}, {"sub": "x"}),
    }
    for expected, (header, payload) in cases.items():
        check = verify_vc_jwt(sign_jws(header, payload, signer), OFFLINE)
        assert not check.valid and expected in check.reason, (expected, check.reason)
    with pytest.raises(FormatError):
        decode_vc_jwt("a.b")
    with pytest.raises(FormatError):
        decode_vc_jwt("eyJhbGciOiJub25lIn0.bm90IGpzb24.")


def test_vc_jwt_alg_must_match_the_key_type() -> None:
    ed = LocalSigner.generate()
    with pytest.raises(FormatError):
        sign_jws({"alg": "ES256"}, {}, ed)


# ------------------------------------------------------------------------------------------------ binding
def _lookup(records: dict[bytes, KeyRecord]):
    return lambda _account, digest: records.get(digest)


def test_key_binding_rule_by_block() -> None:
    key = LocalSigner.generate().public_key
    issuer = "0x" + "ab" * 20
    assert check_key_binding(_lookup({}), issuer, key, 10).state == NOT_REGISTERED
    rec = KeyRecord(added_at=1, added_block=10, revoked_at=0, revoked_block=0)
    assert check_key_binding(_lookup({key.key_hash: rec}), issuer, key, 10).state == BOUND
    assert check_key_binding(_lookup({key.key_hash: rec}), issuer, key, 9).state == NOT_YET_VALID
    revoked = KeyRecord(added_at=1, added_block=10, revoked_at=2, revoked_block=20)
    assert check_key_binding(_lookup({key.key_hash: revoked}), issuer, key, 19).state == BOUND
    assert check_key_binding(_lookup({key.key_hash: revoked}), issuer, key, 20).state == REVOKED
    assert check_key_binding(_lookup({key.key_hash: rec}), issuer, key.multibase, 11).bound


def test_an_expired_proof_is_refused() -> None:
    signer = LocalSigner.generate()
    cred = vc2_credential(did_key(signer.public_key))
    assert verify_proofs(add_proof(cred, signer, expires="2999-01-01T00:00:00Z"), OFFLINE)[0].valid
    [result] = verify_proofs(add_proof(cred, signer, expires="2020-01-01T00:00:00Z"), OFFLINE)
    assert not result.valid and "expired" in result.reason


def test_elm_credential_on_vc_1_1_gets_the_data_integrity_context_and_verifies() -> None:
    """A Europass (ELM 3, VC 1.1 + EDC application profile) credential: the Data Integrity context is added
    so the proof's terms are defined, as the W3C libraries do; both suites sign and verify it."""
    signer = LocalSigner.generate()
    elm = {
        "@context": [
            "https://www.w3.org/2018/credentials/v1",
            "http://data.europa.eu/snb/model/context/edc-ap",
        ],
        "id": "urn:credential:7b8f1b8e-2f0a-4c62-9d8b-1f0c6f4f2a10",
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
        "credentialSubject": {
            "id": "urn:epass:person:1",
            "type": "Person",
            "dateOfBirth": "1999-10-01T22:00:00Z",
            "hasClaim": {
                "id": "urn:epass:learningAchievement:1",
                "type": "LearningAchievement",
                "title": {"en": "Data Science 101"},
            },
        },
        "issuer": {
            "id": did_key(signer.public_key),
            "type": "Organisation",
            "legalName": {"en": "Example University"},
        },
        "validFrom": "2026-01-01T00:00:00Z",
    }
    for suite in ("eddsa-rdfc-2022", "eddsa-jcs-2022"):
        signed = add_proof(elm, signer, cryptosuite=suite)
        assert signed["@context"][-1] == "https://w3id.org/security/data-integrity/v2"
        assert verify_proofs(signed, OFFLINE)[0].valid
    tampered = add_proof(elm, signer, cryptosuite="eddsa-rdfc-2022")
    tampered["credentialSubject"]["hasClaim"]["title"]["en"] = "Data Science 999"
    assert not verify_proofs(tampered, OFFLINE)[0].valid
