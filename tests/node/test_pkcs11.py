"""The PKCS#11 key backend against a real SoftHSM2 token: credential proofs (eddsa-jcs-2022, ES256 VC-JWT) made by
the token verify with anchoring; the token's secp256k1 key signs transactions eth-account recovers to its address,
always with a low s; private keys are not readable; a wrong PIN is a clear error that never shows the PIN; the
node's settings select the HSM chain key; `credreg keys hsm-list` shows labels and public keys.

The same token signs on a real chain and for the npm verifiers in tests/interop/test_hsm.py."""

from __future__ import annotations

import copy
import json

import pytest
from eth_account import Account
from typer.testing import CliRunner

from anchoring.signing import (
    CredentialSigner,
    DidResolver,
    KeyType,
    add_proof,
    did_key,
    sign_vc_jwt,
    verify_proofs,
    verify_vc_jwt,
)
from node.auth.pkcs11 import HsmKeyKind, Pkcs11Error, Pkcs11Token, credential_signer_from_settings
from node.auth.signers import load_chain_signer
from node.cli import build_app
from node.settings import Settings
from tests.helpers.softhsm import LABELS
from tests.helpers.vectors import vc2_credential

SECP256K1_HALF_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141 // 2


@pytest.fixture(scope="module")
def token(softhsm) -> Pkcs11Token:
    return Pkcs11Token.open(softhsm.module, softhsm.token, softhsm.pin)


def _cli(softhsm, *args: str, pin: str | None, token: str | None = None):
    """`credreg keys ...` in process (a subprocess spends its time importing the node)."""
    env = {
        "CREDREG_PKCS11_MODULE": str(softhsm.module),
        "CREDREG_PKCS11_TOKEN_LABEL": token or softhsm.token,
        "CREDREG_PKCS11_PIN": pin,
        "CREDREG_PKCS11_PIN_FILE": None,
    }
    return CliRunner().invoke(build_app(), ["keys", *args], env=env)


def test_an_ed25519_key_in_the_token_signs_an_eddsa_jcs_2022_proof_that_verifies(token):
    signer = token.credential_signer(LABELS["ed25519"])
    assert isinstance(signer, CredentialSigner)
    assert signer.key_type == KeyType.ED25519 and signer.public_key_multibase.startswith("z6Mk")
    credential = vc2_credential(did_key(signer.public_key), 1)
    signed = add_proof(credential, signer, cryptosuite="eddsa-jcs-2022")
    (check,) = verify_proofs(signed, DidResolver(fetch=None))
    assert check.valid, check.reason
    assert check.method is not None and check.method.public_key.multibase == signer.public_key_multibase
    tampered = copy.deepcopy(signed)
    tampered["credentialSubject"]["achievement"]["name"] = "Forged"
    (bad,) = verify_proofs(tampered, DidResolver(fetch=None))
    assert not bad.valid and not bad.error


def test_a_p256_key_in_the_token_signs_an_es256_vc_jwt_that_verifies(token):
    signer = token.credential_signer(LABELS["p256"])
    assert signer.key_type == KeyType.P256 and signer.public_jwk["crv"] == "P-256"
    jwt = sign_vc_jwt(vc2_credential(did_key(signer.public_key), 2), signer)
    check = verify_vc_jwt(jwt, DidResolver(fetch=None))
    assert check.valid, check.reason
    assert check.header["alg"] == "ES256"
    # P-256 signatures are randomised: two signatures of the same bytes differ and both verify
    one, two = signer.sign(b"same bytes"), signer.sign(b"same bytes")
    assert (
        one != two
        and signer.public_key.verify(b"same bytes", one)
        and signer.public_key.verify(b"same bytes", two)
    )
    assert not signer.public_key.verify(b"other bytes", one)


def test_the_chain_key_signs_transactions_that_recover_to_its_address_with_low_s(token):
    signer = token.chain_signer(LABELS["secp256k1"])
    assert signer.address == token.key(LABELS["secp256k1"]).address
    base = {"to": signer.address, "value": 1, "gas": 21000, "chainId": 31337}
    high_s_seen = 0
    for nonce in range(16):  # about half the token's raw signatures have a high s: normalised, every one
        fees = {"maxFeePerGas": 10**9, "maxPriorityFeePerGas": 1} if nonce % 2 else {"gasPrice": 10**9}
        signed = signer.sign_transaction({**base, "nonce": nonce, "from": signer.address, **fees})
        assert Account.recover_transaction(signed.raw_transaction) == signer.address
        assert signed.s <= SECP256K1_HALF_N
        raw = token.sign_raw(token.key(LABELS["secp256k1"]), bytes(signed.hash), _ecdsa())
        high_s_seen += int.from_bytes(raw[32:], "big") > SECP256K1_HALF_N
    assert high_s_seen > 0  # the normalisation was exercised, not only the easy half
    with pytest.raises(TypeError, match="does not match"):
        signer.sign_transaction({**base, "nonce": 0, "gasPrice": 1, "from": Account.create().address})


def _ecdsa():
    from pkcs11 import Mechanism

    return Mechanism.ECDSA


def test_private_keys_cannot_be_read_out_of_the_token(token):
    from pkcs11 import Attribute, ObjectClass
    from pkcs11.exceptions import AttributeSensitive

    privates = list(token._session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))
    assert {p.label for p in privates} >= set(LABELS.values())
    for key in privates:
        assert key[Attribute.SENSITIVE] is True and key[Attribute.EXTRACTABLE] is False
        with pytest.raises(AttributeSensitive):
            key[Attribute.VALUE]


def test_a_wrong_pin_is_a_clear_error_without_the_pin(softhsm):
    wrong = softhsm.other_pin[::-1] + "9"
    with pytest.raises(Pkcs11Error) as raised:
        Pkcs11Token.open(softhsm.module, softhsm.other_token, wrong)
    message = str(raised.value)
    assert "wrong PIN" in message and softhsm.other_token in message
    assert wrong not in message and softhsm.other_pin not in message
    # and through the CLI: one line, exit 2, no traceback, no PIN
    run = _cli(softhsm, "hsm-list", pin=wrong, token=softhsm.other_token)
    assert run.exit_code == 2, run.output
    assert run.exception is None or isinstance(run.exception, SystemExit)
    assert "wrong PIN" in run.stderr and "Traceback" not in run.output
    assert wrong not in run.output


@pytest.mark.parametrize(
    ("open_args", "expected"),
    [
        (("/nonexistent/libpkcs11.so", "credreg-test"), "no PKCS#11 library at /nonexistent"),
        (("{module}", "no-such-token"), "no token 'no-such-token'"),
    ],
)
def test_a_missing_library_or_token_names_the_setting(softhsm, open_args, expected):
    module, label = open_args
    with pytest.raises(Pkcs11Error, match=expected):
        Pkcs11Token.open(module.format(module=softhsm.module), label, softhsm.pin)


def test_a_key_of_the_wrong_kind_or_label_is_refused(token):
    with pytest.raises(Pkcs11Error, match="chain keys are secp256k1"):
        token.chain_signer(LABELS["ed25519"])
    with pytest.raises(Pkcs11Error, match="credentials are signed with Ed25519 or P-256"):
        token.credential_signer(LABELS["secp256k1"])
    with pytest.raises(Pkcs11Error, match="no Ed25519, P-256 or secp256k1 key 'absent'"):
        token.credential_signer("absent")
    with pytest.raises(Pkcs11Error, match="already has a key labelled"):
        token.generate(LABELS["p256"], HsmKeyKind.P256)


def test_the_settings_select_the_hsm_keys_with_the_pin_from_a_file(softhsm, tmp_path):
    pin_file = tmp_path / "pin"
    pin_file.write_text(softhsm.pin + "\n")
    settings = Settings(
        pkcs11_module=softhsm.module,
        pkcs11_token_label=softhsm.token,
        pkcs11_pin_file=pin_file,
        pkcs11_chain_key_label=LABELS["secp256k1"],
        pkcs11_credential_key_label=LABELS["ed25519"],
        issuer_private_key=Account.create().key.hex(),  # set too: the HSM key wins
    )
    chain = load_chain_signer(settings)
    assert (
        chain.address
        == Pkcs11Token.open(softhsm.module, softhsm.token, softhsm.pin).key(LABELS["secp256k1"]).address
    )
    signer = credential_signer_from_settings(settings, verification_method="did:web:uni.example#key-1")
    assert signer.verification_method == "did:web:uni.example#key-1"
    assert signer.public_key.verify(b"x", signer.sign(b"x"))
    assert softhsm.pin not in repr(settings) and softhsm.pin not in repr(chain) + repr(signer)
    # without the HSM label the keystore/environment key is the chain key, as before
    plain = load_chain_signer(settings.model_copy(update={"pkcs11_chain_key_label": None}))
    assert plain.address != chain.address


def test_hsm_list_shows_labels_and_public_keys(softhsm, token):
    run = _cli(softhsm, "hsm-list", "--json", pin=softhsm.pin)
    assert run.exit_code == 0, run.output
    listed = {row["label"]: row for row in json.loads(run.stdout)}
    for label in LABELS.values():
        key = token.key(label)
        assert listed[label]["type"] == key.kind.value
        assert listed[label]["publicKeyMultibase"] == key.public_key_multibase
        assert listed[label]["address"] == key.address
    assert listed[LABELS["secp256k1"]]["address"].startswith("0x")
    assert softhsm.pin not in run.output
    table = _cli(softhsm, "hsm-list", pin=softhsm.pin)
    assert table.exit_code == 0, table.output
    for label in LABELS.values():  # public keys and addresses whole (never folded), to copy from the table
        assert (token.key(label).address or token.key(label).public_key_multibase) in table.stdout
    for command in ("hsm-list", "hsm-new"):
        help_text = CliRunner().invoke(build_app(), ["keys", command, "--help"], terminal_width=200).output
        assert "Example:" in help_text and "--pin-file" in help_text and "--pin " not in help_text
    assert _cli(softhsm, "hsm-list", pin=None).exit_code == 2  # no PIN: refused before the token is asked
