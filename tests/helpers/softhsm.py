"""A real SoftHSM2 token (Debian's `softhsm2`) for the PKCS#11 tests: initialised with `softhsm2-util` in a temporary
directory (SOFTHSM2_CONF), with an Ed25519, a P-256 and a secp256k1 key generated inside it.

SoftHSM2 reads SOFTHSM2_CONF when the library is initialised, once per process, so the token is session-scoped and
its configuration stays in the environment for the rest of the run (no other test loads a PKCS#11 library).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.paths import require

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
TOKEN = "credreg-test"
#: a second token nobody logs in to: a wrong PIN is refused by the token itself, in this process too
OTHER_TOKEN = "credreg-other"
LABELS = {"ed25519": "issuer-ed25519", "p256": "issuer-p256", "secp256k1": "issuer-chain"}


@dataclass(frozen=True)
class SoftHsm:
    conf: Path
    module: Path
    token: str
    pin: str
    other_token: str
    other_pin: str

    def env(self) -> dict[str, str]:
        """The environment a subprocess (the CLI) needs to see the token; the PIN is not in it."""
        return {
            **os.environ,
            "SOFTHSM2_CONF": str(self.conf),
            "CREDREG_PKCS11_MODULE": str(self.module),
            "CREDREG_PKCS11_TOKEN_LABEL": self.token,
        }


def _init_token(label: str, pin: str) -> None:
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            label,
            "--pin",
            pin,
            "--so-pin",
            secrets.token_hex(8),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory) -> SoftHsm:
    require(
        shutil.which("softhsm2-util") is not None and MODULE.exists(),
        "softhsm2 is not installed (apt-get install softhsm2)",
    )
    from node.auth.pkcs11 import HsmKeyKind, Pkcs11Token, close_all

    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    # test PINs (random, so a test can check that no message carries one); softhsm2-util takes them on its command
    # line, which is acceptable for a throwaway test token only
    hsm = SoftHsm(conf, MODULE, TOKEN, secrets.token_hex(6), OTHER_TOKEN, secrets.token_hex(6))
    _init_token(hsm.token, hsm.pin)
    _init_token(hsm.other_token, hsm.other_pin)
    token = Pkcs11Token.open(hsm.module, hsm.token, hsm.pin)
    for kind, label in LABELS.items():
        token.generate(label, HsmKeyKind(kind))
    yield hsm
    close_all()


def fund_address(funder, address: str, ether: int = 1) -> None:
    """Send `ether` to `address` (an HSM key's) from the dev chain's funding account."""
    sender = funder.sender
    tx = {
        "to": address,
        "value": ether * 10**18,
        "gas": 21000,
        "nonce": sender.next_nonce(),
        "chainId": sender.chain_id,
        **sender.fees(),
    }
    signed = sender.account.sign_transaction(tx)
    funder.w3.eth.wait_for_transaction_receipt(
        funder.w3.eth.send_raw_transaction(signed.raw_transaction), timeout=30
    )
