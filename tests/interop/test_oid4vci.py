"""OpenID4VCI 1.0 against a real node over loopback: the OpenWallet Foundation's npm wallet client
(@openid4vc/openid4vci) runs the pre-authorized code flow and receives each format; the SD-JWT VC it receives is
verified by @sd-jwt/sd-jwt-vc and by credreg, with a presentation disclosing only chosen claims. Deferred
issuance until anchoring. Bad input: replayed and expired codes, wrong transaction codes, wrong proof keys,
wrong audiences, stale and replayed nonces, missing tokens, each with its OAuth error and status code.

No chain is needed: batches are confirmed by recording them (tests/helpers/nodes.py does the same)."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import sqlalchemy as sa

from anchoring.scheme.encoding import to_hex
from anchoring.scheme.keccak import keccak256
from anchoring.signing import (
    DidResolver,
    KeyType,
    LocalSigner,
    add_proof,
    did_key,
    verify_proofs,
    verify_vc_jwt,
)
from anchoring.signing.sdjwt import verify_sd_jwt_vc
from anchoring.signing.vcjwt import sign_jws
from node.auth.credential_keys import write_key_file
from node.pipeline.batches import record_confirmation, record_submission
from node.pipeline.sealer import seal_due_batches
from node.storage.models import Batch, utcnow
from node.storage.models import Issuer as IssuerRow
from node.wallet.issuance import LDP_VC, SD_JWT, VC_JWT
from tests.helpers.db import make_issuer
from tests.helpers.interop import require_js
from tests.helpers.paths import REPO, require
from tests.helpers.samples import example
from tests.helpers.servers import serving

SCRIPT = REPO / "tests" / "helpers" / "js" / "oid4vci_wallet.mjs"
SIGNER = LocalSigner.generate()  # the issuer's credential key, as a key file the node loads


def _ob3() -> dict:
    """The Open Badges example as this test's issuer issues it (the node refuses a credential naming another)."""
    credential = example("ob3-microcredential.json")
    return credential | {"issuer": credential["issuer"] | {"id": did_key(SIGNER.public_key_multibase)}}


HOLDER = LocalSigner.generate(KeyType.P256)
OTHER = LocalSigner.generate(KeyType.P256)
AUD = "https://employer.example"
TOKEN_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


class Node:
    def __init__(self, tmp: Path) -> None:
        from api.app import create_app
        from node.settings import Settings
        from node.storage.db import make_engine, session_factory, upgrade

        self.settings = Settings(
            data_dir=tmp,
            database_url=f"sqlite:///{tmp / 'node.db'}",
            credential_key_password="interop-test",
            _env_file=None,
        )
        self.engine = make_engine(self.settings.database_url)
        upgrade(self.engine)
        self.factory = session_factory(self.engine)
        self.app = create_app(self.settings, engine=self.engine)
        self.issuer = make_issuer(self.factory)
        # the issuer signs with its own credential key (node.auth.credential_keys), an encrypted PKCS#8 file
        path = write_key_file(SIGNER, tmp / "keys" / "credential-ed25519.pem", "interop-test")
        with self.factory() as s:
            row = s.get(IssuerRow, self.issuer.id)
            row.did, row.signing_key_ref = did_key(SIGNER.public_key_multibase), f"file:{path}"
            row.verification_key = SIGNER.public_key_multibase
            s.add(row)
            s.commit()

    def issue(self, credential: dict, base: str, query: str = "") -> str:
        r = httpx.post(f"{base}/v1/credentials{query}", headers=self.issuer.headers, json=credential)
        assert r.status_code == 202, r.text
        return r.json()["digest"]

    def anchor(self) -> None:
        for batch_id in seal_due_batches(self.factory, self.settings, force=True, issuer_id=self.issuer.id):
            with self.factory() as s:
                batch = s.get(Batch, batch_id)
                record_submission(s, batch, nonce=batch_id, tx_hash="0x" + f"{batch_id:064x}")
                record_confirmation(s, batch, block_number=1, block_hash="0x" + "ab" * 32, confirmations=1)

    def offer(self, base: str, digest: str, **body) -> dict:
        r = httpx.post(f"{base}/v1/credentials/{digest}/offers", headers=self.issuer.headers, json=body)
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    require_js()
    for pkg in ("@openid4vc/openid4vci", "@sd-jwt/sd-jwt-vc", "@sd-jwt/crypto-nodejs"):
        require(
            (REPO / "node_modules" / pkg / "package.json").exists(), f"npm package {pkg} is not installed"
        )
    n = Node(tmp_path_factory.mktemp("oid4vci"))
    with serving(n.app) as base:
        n.base = base  # type: ignore[attr-defined]
        yield n
    n.engine.dispose()


def wallet(request: dict) -> dict:
    node_bin = require_js()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "request.json"
        path.write_text(json.dumps({"issuerJwk": SIGNER.public_jwk, "audience": AUD, **request}))
        proc = subprocess.run(
            [node_bin, str(SCRIPT), str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def code_of(offer: dict) -> str:
    return offer["offer"]["grants"][TOKEN_GRANT]["pre-authorized_code"]


def token(base: str, code: str, **extra) -> httpx.Response:
    return httpx.post(
        f"{base}/oid4vci/token", data={"grant_type": TOKEN_GRANT, "pre-authorized_code": code, **extra}
    )


def nonce(base: str) -> str:
    r = httpx.post(f"{base}/oid4vci/nonce")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    return r.json()["c_nonce"]


def proof(*, aud: str, nonce: str | None, key=HOLDER, named=None, iat=None) -> str:
    header = {"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": (named or key).public_jwk}
    payload = {"aud": aud, "iat": int(time.time()) if iat is None else iat}
    if nonce is not None:
        payload["nonce"] = nonce
    return sign_jws(header, payload, key)


def ask(base: str, access: str | None, config: str, jwt: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {access}"} if access else {}
    return httpx.post(
        f"{base}/oid4vci/credential",
        headers=headers,
        json={"credential_configuration_id": config, "proofs": {"jwt": [jwt]}},
    )


def oauth_error(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["error"] == code and body["error_description"], body
    assert (
        body["status"] == status and body["errors"][0]["field"]
    )  # also an RFC 9457 problem naming the field
    return body


# ------------------------------------------------------------------------------------------ the wallet flow
def test_wallet_receives_each_format_and_presents_chosen_claims(node):
    """One wallet run: a credential the node signed as a VC-JWT offered with a transaction code (SD-JWT VC +
    VC-JWT), one signed by the issuer itself (ldp_vc, the anchored bytes), and a not yet anchored one (deferred);
    then the deferred poll."""
    base = node.base
    unsigned = node.issue(_ob3(), base, "?proof=vc-jwt")
    signed_vc = add_proof(_ob3() | {"id": "urn:uuid:signed-1"}, SIGNER)
    signed = node.issue(signed_vc, base)
    node.anchor()
    later = node.issue(_ob3() | {"id": "urn:uuid:deferred-1"}, base)

    pinned = node.offer(base, unsigned, tx_code=True)
    assert pinned["configurations"] == [SD_JWT, VC_JWT] and len(pinned["txCode"]) == 6
    assert pinned["qrSvg"].startswith("<svg") and pinned["offerUri"].startswith("openid-credential-offer://")
    sent = json.loads(parse_qs(urlparse(pinned["offerUri"]).query)["credential_offer"][0])
    assert sent == pinned["offer"] and sent["credential_issuer"] == base
    as_signed = node.offer(base, signed)
    assert as_signed["configurations"] == [SD_JWT, LDP_VC] and "txCode" not in as_signed
    deferred = node.offer(base, later, formats=[SD_JWT])
    disclose = ["level", "workload", "assessment"]
    out = wallet(
        {
            "offers": [
                {"offer": pinned["offerUri"], "txCode": pinned["txCode"], "configurations": [SD_JWT, VC_JWT]},
                {"offer": as_signed["offerUri"], "configurations": [LDP_VC]},
                {"offer": deferred["offerUri"], "configurations": [SD_JWT]},
            ],
            "disclose": disclose,
            "nonce": "verifier-nonce-1",
        }
    )
    assert "error" not in out, out
    holder_jwk = out["holderJwk"]
    first, second, third = out["offers"]

    # SD-JWT VC: @sd-jwt/sd-jwt-vc verified it and presented three claims; credreg agrees
    got = first["results"][SD_JWT]
    sd = got["sdjwt"]
    assert sd["header"]["typ"] == "dc+sd-jwt"
    assert {"title", "level", "workload", "learningOutcomes", "awardingBody"} <= set(sd["verifiedClaims"])
    assert sd["verifiedClaims"]["credreg_digest"] == unsigned
    shown = sd["presentationClaims"]
    assert set(disclose) <= set(shown) and "title" not in shown and "learningOutcomes" not in shown
    assert sd["presentationKb"]["nonce"] == "verifier-nonce-1" and sd["presentationKb"]["aud"] == AUD
    check = verify_sd_jwt_vc(
        sd["presentation"],
        DidResolver(fetch=None),
        audience=AUD,
        nonce="verifier-nonce-1",
        require_key_binding=True,
    )
    assert check.valid, check.reason
    assert sorted(check.disclosed) == sorted(disclose) and check.undisclosed == 8
    assert check.payload["cnf"]["jwk"] == holder_jwk and check.key_binding is True
    whole = verify_sd_jwt_vc(got["credential"], DidResolver(fetch=None))
    assert whole.valid and len(whole.disclosed) == 11
    wrong_aud = verify_sd_jwt_vc(
        sd["presentation"],
        DidResolver(fetch=None),
        audience="https://other.example",
        nonce="verifier-nonce-1",
    )
    assert not wrong_aud.valid and "aud" in wrong_aud.reason

    # the W3C VC as the VC-JWT the node signed and anchored: its bytes are the anchored digest's
    jwt = first["results"][VC_JWT]["credential"]
    assert verify_vc_jwt(jwt, DidResolver(fetch=None)).valid
    assert to_hex(keccak256(jwt.encode())) == unsigned

    # a credential the node stores signed is offered as ldp_vc: the anchored bytes themselves
    received = second["results"][LDP_VC]["credential"]
    assert received == signed_vc and all(p.valid for p in verify_proofs(received, DidResolver(fetch=None)))

    # the pre-authorized code was single use
    oauth_error(token(base, code_of(pinned), tx_code=pinned["txCode"]), 400, "invalid_grant")

    # deferred: a transaction id until the batch is anchored, then the credential (once)
    transaction = third["results"][SD_JWT]["transactionId"]
    assert (
        transaction
        and third["results"][SD_JWT]["interval"] == node.settings.oid4vci_deferred_interval_seconds
    )
    bearer = {"Authorization": f"Bearer {third['accessToken']}"}
    poll = httpx.post(
        f"{base}/oid4vci/deferred-credential", headers=bearer, json={"transaction_id": transaction}
    )
    assert poll.status_code == 202 and poll.json() == {"transaction_id": transaction, "interval": 5}, (
        poll.text
    )
    node.anchor()
    poll = {
        "issuer": base,
        "accessToken": third["accessToken"],
        "transactionId": transaction,
        "holderPrivateJwk": out["holderPrivateJwk"],
        "configuration": SD_JWT,
    }
    done = wallet({"mode": "deferred", "deferred": poll, "disclose": ["level"], "nonce": "n-2"})
    got = done["results"][SD_JWT]
    assert "sdjwt" in got, done
    assert got["sdjwt"]["verifiedClaims"]["credreg_digest"] == later
    check = verify_sd_jwt_vc(got["sdjwt"]["presentation"], DidResolver(fetch=None), audience=AUD, nonce="n-2")
    assert check.valid and list(check.disclosed) == ["level"], check.reason
    again = httpx.post(
        f"{base}/oid4vci/deferred-credential", headers=bearer, json={"transaction_id": transaction}
    )
    oauth_error(again, 400, "invalid_transaction_id")


# ------------------------------------------------------------------------------------------ bad input
def test_token_endpoint_errors(node):
    base = node.base
    digest = node.issue(_ob3() | {"id": "urn:uuid:token-1"}, base)
    expired = node.offer(base, digest)
    with node.engine.begin() as c:
        c.execute(sa.text("UPDATE wallet_offer SET expires_at = :t"), {"t": utcnow() - timedelta(seconds=1)})
    body = oauth_error(token(base, code_of(expired)), 400, "invalid_grant")
    assert "expired" in body["error_description"]
    oauth_error(token(base, "not-a-code"), 400, "invalid_grant")
    oauth_error(token(base, ""), 400, "invalid_request")
    r = httpx.post(f"{base}/oid4vci/token", data={"grant_type": "authorization_code", "code": "x"})
    oauth_error(r, 400, "unsupported_grant_type")
    r = httpx.post(f"{base}/oid4vci/token", json={"grant_type": TOKEN_GRANT})
    oauth_error(r, 400, "invalid_request")

    pinned = node.offer(base, digest, tx_code=True)
    oauth_error(token(base, code_of(pinned)), 400, "invalid_grant")
    wrong = "000000" if pinned["txCode"] != "000000" else "111111"
    oauth_error(token(base, code_of(pinned), tx_code=wrong), 400, "invalid_grant")
    r = token(base, code_of(pinned), tx_code=pinned["txCode"])
    assert (
        r.status_code == 200
        and r.json()["token_type"] == "Bearer"
        and r.headers["cache-control"] == "no-store"
    )
    plain = node.offer(base, digest)
    oauth_error(token(base, code_of(plain), tx_code="123456"), 400, "invalid_request")
    # wrong transaction codes: the fifth spends the offer, the right code no longer helps
    guessed = node.offer(base, digest, tx_code=True)
    wrong = "000000" if guessed["txCode"] != "000000" else "111111"
    for _ in range(node.settings.oid4vci_tx_code_attempts - 1):
        oauth_error(token(base, code_of(guessed), tx_code=wrong), 400, "invalid_grant")
    body = oauth_error(token(base, code_of(guessed), tx_code=wrong), 400, "invalid_grant")
    assert "spent" in body["error_description"]
    oauth_error(token(base, code_of(guessed), tx_code=guessed["txCode"]), 400, "invalid_grant")
    # the codes and tokens are stored hashed: no row holds the code or the access token
    with node.engine.connect() as c:
        stored = " ".join(str(v) for row in c.execute(sa.text("SELECT * FROM wallet_offer")) for v in row)
        stored += " ".join(str(v) for row in c.execute(sa.text("SELECT * FROM wallet_token")) for v in row)
    assert code_of(pinned) not in stored and r.json()["access_token"] not in stored


def test_credential_endpoint_errors(node):
    base = node.base
    digest = node.issue(_ob3() | {"id": "urn:uuid:proofs-1"}, base)
    node.anchor()
    r = token(base, code_of(node.offer(base, digest)))
    assert r.status_code == 200, r.text
    access = r.json()["access_token"]

    r = ask(base, None, SD_JWT, proof(aud=base, nonce=nonce(base)))
    body = oauth_error(r, 401, "invalid_token")
    assert r.headers["www-authenticate"].startswith("Bearer") and body
    oauth_error(ask(base, "forged", SD_JWT, proof(aud=base, nonce=nonce(base))), 401, "invalid_token")
    oauth_error(
        ask(base, access, "mdoc", proof(aud=base, nonce=nonce(base))), 400, "unknown_credential_configuration"
    )
    # wrong proof key: the header names one key, another signed
    oauth_error(
        ask(base, access, SD_JWT, proof(aud=base, nonce=nonce(base), key=OTHER, named=HOLDER)),
        400,
        "invalid_proof",
    )
    # wrong audience
    body = oauth_error(
        ask(base, access, SD_JWT, proof(aud="https://evil.example", nonce=nonce(base))), 400, "invalid_proof"
    )
    assert "aud" in body["error_description"]
    oauth_error(ask(base, access, SD_JWT, proof(aud=base, nonce=nonce(base), iat=1)), 400, "invalid_proof")
    # stale nonce: unknown, expired, or spent by an earlier proof
    oauth_error(ask(base, access, SD_JWT, proof(aud=base, nonce="never-issued")), 400, "invalid_nonce")
    oauth_error(ask(base, access, SD_JWT, proof(aud=base, nonce=None)), 400, "invalid_nonce")
    old = nonce(base)
    with node.engine.begin() as c:
        c.execute(sa.text("UPDATE wallet_nonce SET expires_at = :t"), {"t": utcnow() - timedelta(seconds=1)})
    oauth_error(ask(base, access, SD_JWT, proof(aud=base, nonce=old)), 400, "invalid_nonce")
    fresh = nonce(base)
    ok = ask(base, access, SD_JWT, proof(aud=base, nonce=fresh))
    assert ok.status_code == 200, ok.text
    check = verify_sd_jwt_vc(ok.json()["credentials"][0]["credential"], DidResolver(fetch=None))
    assert check.valid and check.payload["cnf"]["jwk"] == HOLDER.public_jwk
    oauth_error(
        ask(base, access, SD_JWT, proof(aud=base, nonce=fresh)), 400, "invalid_nonce"
    )  # c_nonce replay
    r = httpx.post(
        f"{base}/oid4vci/credential", headers={"Authorization": f"Bearer {access}"}, json={"proofs": {}}
    )
    oauth_error(r, 400, "invalid_credential_request")
    r = httpx.post(
        f"{base}/oid4vci/credential",
        headers={"Authorization": f"Bearer {access}"},
        json={"credential_configuration_id": SD_JWT},
    )
    oauth_error(r, 400, "invalid_proof")


def test_offers_are_the_issuers_and_metadata_is_served(node):
    base = node.base
    digest = node.issue(_ob3() | {"id": "urn:uuid:offer-1"}, base)
    other = make_issuer(node.factory, "Other Uni", "0x" + "22" * 20)
    r = httpx.post(f"{base}/v1/credentials/{digest}/offers", headers=other.headers, json={})
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    r = httpx.post(f"{base}/v1/credentials/{digest}/offers", json={})
    assert r.status_code == 401
    # an issuer without a credential-signing key, a credential stored unsigned: no form a wallet could verify
    r = httpx.post(
        f"{base}/v1/credentials",
        headers=other.headers,
        json={k: v for k, v in _ob3().items() if k != "issuer"},
    )
    mine = r.json()["digest"]
    r = httpx.post(f"{base}/v1/credentials/{mine}/offers", headers=other.headers, json={})
    assert r.status_code == 422 and "signing key" in r.json()["detail"], r.text
    r = httpx.post(
        f"{base}/v1/credentials/{digest}/offers", headers=node.issuer.headers, json={"formats": [VC_JWT]}
    )  # the node signed it with eddsa-jcs-2022: offered as ldp_vc, not as a VC-JWT
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.formats"
    r = httpx.post(f"{base}/v1/credentials/{digest}/offers", headers=node.issuer.headers, json={"tx": 1})
    assert r.status_code == 422
    md = httpx.get(f"{base}/.well-known/openid-credential-issuer").json()
    assert md["credential_issuer"] == base and set(md["credential_configurations_supported"]) == {
        SD_JWT,
        LDP_VC,
        VC_JWT,
    }
    asm = httpx.get(f"{base}/.well-known/oauth-authorization-server").json()
    assert (
        asm["token_endpoint"] == f"{base}/oid4vci/token"
        and asm["pre-authorized_grant_anonymous_access_supported"]
    )
