"""The whole wallet story on a real node and chain: an issuer (its credential key registered on chain) issues, the pipeline anchors, an offer is redeemed over OpenID4VCI, and the SD-JWT VC the wallet receives,
presented with only one claim, verifies VALID with its signature bound to the anchoring issuer's key."""

from __future__ import annotations

import time

import httpx
import pytest
from pydantic import SecretStr

from anchoring.signing import KeyType, LocalSigner, present_sd_jwt
from anchoring.signing.multikey import encode_secret_multikey
from anchoring.signing.vcjwt import sign_jws
from anchoring.verify import ChainContext
from anchoring.verify.sdjwt import verify_sd_jwt_presentation
from node.cli.embedded import EmbeddedNode, node_settings
from node.wallet.issuance import LDP_VC, SD_JWT
from tests.helpers.nodes import wait_published
from tests.helpers.samples import example
from tests.helpers.signed import new_issuer

pytestmark = pytest.mark.chain

GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
WALLET = LocalSigner.generate(KeyType.P256)


def test_issuer_to_wallet_to_verifier(dev_network, funder, tmp_path):
    # a trusted issuer whose DID is its credential key's did:key, that key registered on chain
    issuer = new_issuer(dev_network, funder)
    secret = encode_secret_multikey(KeyType.ED25519, issuer.signer.export_private_bytes())
    node = EmbeddedNode(
        node_settings(
            tmp_path,
            dev_network.chain.rpc_url,
            dev_network.deployment,
            bytes(issuer.account.key),
            credential_key=SecretStr(secret),
        )
    )
    try:
        digest = node.issue(
            {k: v for k, v in example("ob3-microcredential.json").items() if k != "issuer"}
        )  # filled in
        node.wait_anchored([digest])
        made = node.http.post(f"/v1/credentials/{digest}/offers", json={})
        assert made.status_code == 201, made.text
        offer = made.json()
        assert offer["configurations"] == [SD_JWT, LDP_VC], offer  # the node signed it (eddsa-jcs-2022)
        code = offer["offer"]["grants"][GRANT]["pre-authorized_code"]
        base = node.base_url
        access = httpx.post(
            f"{base}/oid4vci/token", data={"grant_type": GRANT, "pre-authorized_code": code}
        ).json()["access_token"]
        nonce = httpx.post(f"{base}/oid4vci/nonce").json()["c_nonce"]
        header = {"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": WALLET.public_jwk}
        proof = sign_jws(header, {"aud": base, "iat": int(time.time()), "nonce": nonce}, WALLET)
        r = httpx.post(
            f"{base}/oid4vci/credential",
            headers={"Authorization": f"Bearer {access}"},
            json={"credential_configuration_id": SD_JWT, "proofs": {"jwt": [proof]}},
        )
        assert r.status_code == 200, r.text
        sd = r.json()["credentials"][0]["credential"]
        shown = present_sd_jwt(sd, ["level"], holder=WALLET, audience="https://employer.example", nonce="v-1")
        for purpose in ("revocation", "suspension"):  # its status entries are checked against published lists
            wait_published(node, purpose)
        chain = ChainContext(dev_network.chain.rpc_url, dev_network.deployment)
        report = verify_sd_jwt_presentation(
            shown,
            chain,
            node=base,
            audience="https://employer.example",
            nonce="v-1",
        )
        assert report.verdict == "valid", report.to_json()
        assert report["signature"].details["binding"] == "bound"
        assert list(report["disclosures"].details["disclosed"]) == ["level"]
        assert report.summary["digest"] == digest
    finally:
        node.stop()
