"""The published test vectors of the securing mechanisms, reproduced byte for byte (W3C vc-di-eddsa
TestVectors for eddsa-jcs-2022 and eddsa-rdfc-2022, 1EdTech's OB 3.0 eddsa-rdfc-2022 vector, the W3C
VC-JOSE-COSE test-suite vc+jwt inputs), then verified, and tampered copies refused."""

from __future__ import annotations

import copy
import hashlib

import pytest

from anchoring.signing import (
    DidResolver,
    LocalSigner,
    PublicKey,
    VerificationMethod,
    add_proof,
    verify_proofs,
)
from anchoring.signing.dataintegrity import (
    canonical_document,
    canonical_proof_config,
    hash_data,
    unsecured,
)
from anchoring.signing.multikey import decode_multibase, encode_multibase
from anchoring.signing.vcjwt import decode_vc_jwt, sign_jws, verify_vc_jwt
from tests.helpers.vectors import DI, JOSE, OB, extra_contexts, read_json, read_text

KEY = read_json(DI / "keyPair.json")
CREATED = "2023-02-24T23:36:38Z"

# (cryptosuite, folder, file suffix, unsigned input)
DI_CASES = [
    ("eddsa-jcs-2022", DI / "eddsa-jcs-2022", "JCS", "unsigned.json"),
    ("eddsa-rdfc-2022", DI / "eddsa-rdfc-2022", "DataInt", "unsigned.json"),
    ("eddsa-rdfc-2022", DI / "eddsa-rdfc-2022" / "employ", "DataInt", "employmentAuth.json"),
]
IDS = ["jcs", "rdfc", "rdfc-employ"]


def _signer() -> LocalSigner:
    return LocalSigner.from_secret_multibase(KEY["privateKeyMultibase"])


def test_vector_key_pair_decodes_to_its_published_public_key() -> None:
    signer = _signer()
    assert signer.public_key_multibase == KEY["publicKeyMultibase"]
    assert signer.verification_method == f"did:key:{KEY['publicKeyMultibase']}#{KEY['publicKeyMultibase']}"


@pytest.mark.parametrize(("suite", "folder", "suffix", "unsigned_name"), DI_CASES, ids=IDS)
def test_data_integrity_vector_steps_byte_for_byte(suite, folder, suffix, unsigned_name) -> None:
    document = read_json(DI / unsigned_name)
    options = read_json(folder / f"proofConfig{suffix}.json")
    ctx = extra_contexts()
    canon_doc = canonical_document(document, suite, ctx)
    assert canon_doc == (folder / f"canonDoc{suffix}.txt").read_bytes()
    assert hashlib.sha256(canon_doc).hexdigest() == read_text(folder / f"docHash{suffix}.txt").strip()
    options_without_ctx = {k: v for k, v in options.items() if k != "@context"}
    canon_proof = canonical_proof_config(options_without_ctx, document, suite, ctx)
    assert canon_proof == (folder / f"proofCanon{suffix}.txt").read_bytes()
    assert hashlib.sha256(canon_proof).hexdigest() == read_text(folder / f"proofHash{suffix}.txt").strip()
    data = hash_data(canon_proof, canon_doc)
    assert data.hex() == read_text(folder / f"combinedHash{suffix}.txt").strip()
    signature = _signer().sign(data)
    assert signature.hex() == read_text(folder / f"sigHex{suffix}.txt").strip()
    assert encode_multibase(signature) == read_text(folder / f"sigBTC58{suffix}.txt").strip()


@pytest.mark.parametrize(("suite", "folder", "suffix", "unsigned_name"), DI_CASES, ids=IDS)
def test_data_integrity_vector_signed_document_reproduced_and_verified(
    suite, folder, suffix, unsigned_name
) -> None:
    expected = read_json(folder / f"signed{suffix}.json")
    signed = add_proof(
        read_json(DI / unsigned_name),
        _signer(),
        cryptosuite=suite,
        created=CREATED,
        contexts=extra_contexts(),
    )
    assert signed == expected
    results = verify_proofs(expected, DidResolver(fetch=None), contexts=extra_contexts())
    assert [r.valid for r in results] == [True], results[0].reason
    assert results[0].method is not None and results[0].method.source == "did:key"


@pytest.mark.parametrize(("suite", "folder", "suffix", "unsigned_name"), DI_CASES, ids=IDS)
def test_data_integrity_vector_tampered_is_refused(suite, folder, suffix, unsigned_name) -> None:
    signed = read_json(folder / f"signed{suffix}.json")
    tampered = copy.deepcopy(signed)
    tampered["validFrom"] = "2000-01-01T00:00:00Z"
    [result] = verify_proofs(tampered, DidResolver(fetch=None), contexts=extra_contexts())
    assert not result.valid and not result.error and "does not verify" in result.reason
    bad_proof = copy.deepcopy(signed)
    bad_proof["proof"]["created"] = "2024-01-01T00:00:00Z"
    [result] = verify_proofs(bad_proof, DidResolver(fetch=None), contexts=extra_contexts())
    assert not result.valid


def test_the_employ_vector_needs_its_context_and_never_fetches_it() -> None:
    signed = read_json(DI / "eddsa-rdfc-2022" / "employ" / "signedDataInt.json")
    [result] = verify_proofs(signed, DidResolver(fetch=None))
    assert not result.valid and "unknown JSON-LD context https://w3id.org/citizenship/v4rc1" in result.reason


def test_open_badges_3_vector_reproduced() -> None:
    """1EdTech OB 3.0 eddsa-rdfc-2022 vector: key (hex seed), canonical document and proof, proofValue."""
    signed = read_json(OB / "ob3-signed-credential.json")
    seed = bytes.fromhex("6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4")
    vm_id = "https://example.edu/issuers/565049#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
    from anchoring.signing import KeyType

    signer = LocalSigner.from_private_bytes(KeyType.ED25519, seed, vm_id)
    assert signer.public_key.raw.hex() == "4bdeafde2ea8beefadd8c699b5c7e0704cf51154d52e17b20b71337ca04cc5a5"
    assert signer.public_key_multibase == "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
    doc = unsecured(signed)
    assert canonical_document(doc, "eddsa-rdfc-2022") == (OB / "document-canon.txt").read_bytes()
    options = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    assert canonical_proof_config(options, doc, "eddsa-rdfc-2022") == (OB / "proof-canon.txt").read_bytes()
    resigned = add_proof(doc, signer, cryptosuite="eddsa-rdfc-2022", created=signed["proof"]["created"])
    assert resigned["proof"]["proofValue"] == signed["proof"]["proofValue"]
    vm = VerificationMethod.parse(
        {
            "id": vm_id,
            "type": "Multikey",
            "controller": "https://example.edu/issuers/565049",
            "publicKeyMultibase": signer.public_key_multibase,
        }
    )
    [result] = verify_proofs(signed, DidResolver(fetch=None, verification_methods=[vm]))
    assert result.valid, result.reason


# ------------------------------------------------------------------------------------------- VC-JOSE-COSE
def _jose_method(name: str) -> tuple[VerificationMethod, dict]:
    vm = read_json(JOSE / name)
    secret = vm.pop("secretKeyJwk")
    return VerificationMethod.parse(vm), secret


def test_vc_jwt_es256_test_suite_vector_verifies_and_its_signing_input_is_reproduced() -> None:
    vm, secret = _jose_method("vm-p256.json")
    token = read_text(JOSE / "credential-jose-minimal.txt").strip()
    check = verify_vc_jwt(token, lambda _kid: vm)
    assert check.valid, check.reason
    assert check.credential["issuer"] == "https://example.issuer/vc-jose-cose"
    header, payload = decode_vc_jwt(token)
    again = sign_jws(header, payload, LocalSigner.from_jwk(secret, vm.id))
    # ES256 signatures are randomised: the signing input (header.payload) is what is reproducible
    assert again.rsplit(".", 1)[0] == token.rsplit(".", 1)[0]
    assert verify_vc_jwt(again, lambda _kid: vm).valid


def test_vc_jwt_eddsa_test_suite_vector_reproduced_byte_for_byte_and_its_claims_refused() -> None:
    """credential-jose-vc-vp-claims.txt carries a valid EdDSA signature (Ed25519 is deterministic, so the
    whole JWS is reproduced) over a payload with the forbidden vc / vp claims: it must be refused."""
    vm, secret = _jose_method("vm-ed25519.json")
    token = read_text(JOSE / "credential-jose-vc-vp-claims.txt").strip()
    header, payload = decode_vc_jwt(token)
    assert sign_jws(header, payload, LocalSigner.from_jwk(secret, vm.id)) == token
    check = verify_vc_jwt(token, lambda _kid: vm)
    assert not check.valid and "vc, vp" in check.reason


def test_vc_jwt_bad_signature_vector_is_refused() -> None:
    vm, _ = _jose_method("vm-ed25519.json")
    check = verify_vc_jwt(read_text(JOSE / "credential-jose-bad-signature.txt").strip(), lambda _kid: vm)
    assert not check.valid and not check.error and "does not verify" in check.reason


def test_vc_jwt_test_suite_keys_round_trip_through_multikey() -> None:
    for name in ("vm-ed25519.json", "vm-p256.json"):
        vm, secret = _jose_method(name)
        assert PublicKey.from_multibase(vm.public_key.multibase) == vm.public_key
        assert vm.public_key.thumbprint == secret["kid"]  # the suite's kids are RFC 7638 thumbprints
        assert decode_multibase(vm.public_key.multibase)[:2] in (b"\xed\x01", b"\x80\x24")
