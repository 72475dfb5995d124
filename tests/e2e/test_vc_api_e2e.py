"""The W3C VC-API on a real node (API + pipeline on Anvil): a credential issued through ``/credentials/issue`` is
anchored, verifies through ``/credentials/verify`` and ``/presentations/verify`` with every check passing (this
node's anchor, the registry key binding, its signed status lists) and with @digitalbazaar/vc; a tampered copy
is refused by both."""

from __future__ import annotations

import copy
import time

import pytest

from anchoring.scheme.encoding import to_hex
from anchoring.scheme.jcs import canonicalize
from anchoring.scheme.keccak import keccak256
from node.cli.embedded import EmbeddedNode, node_settings
from node.dev.network import DEV_DIDS
from tests.helpers.interop import require_js, run_js
from tests.helpers.vectors import vc2_credential

pytestmark = pytest.mark.chain


@pytest.fixture
def node(dev_network, tmp_path):
    settings = node_settings(
        tmp_path,
        dev_network.chain.rpc_url,
        dev_network.deployment,
        dev_network.issuer.key,
        status_list_publish_interval_seconds=0,
    )
    embedded = EmbeddedNode(settings)
    try:
        yield embedded
    finally:
        embedded.stop()


def _published(node: EmbeddedNode, url: str) -> bool:
    r = node.http.get(url)
    published = (r.headers.get("X-Credreg-Published-Hash") or "").removeprefix("0x")
    return r.status_code == 200 and published == r.headers["ETag"].strip('"')


def test_issue_through_vc_api_then_verify_through_it_and_a_third_party(node):
    require_js()
    r = node.http.post("/credentials/issue", json={"credential": vc2_credential(DEV_DIDS["issuer"], 500)})
    assert r.status_code == 201, r.text
    signed = r.json()["verifiableCredential"]
    assert signed["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    digest = to_hex(keccak256(canonicalize(signed)))
    node.wait_anchored([digest])
    lists = {e["statusListCredential"] for e in signed["credentialStatus"]}
    deadline = time.monotonic() + 30
    while not all(_published(node, url) for url in lists):
        assert time.monotonic() < deadline, "status lists not published on chain"
        time.sleep(0.2)

    public = node.http.post(
        "/credentials/verify", json={"verifiableCredential": signed}, headers={"Authorization": ""}
    )
    assert public.status_code == 200, public.text
    result = public.json()
    assert result == {**result, "verified": True, "warnings": [], "errors": []}
    assert {"proof", "anchor", "issuerTrusted", "revocation", "expiration", "credentialStatus"} <= set(
        result["checks"]
    )

    tampered = copy.deepcopy(signed)
    tampered["credentialSubject"]["achievement"]["name"] = "Forged"
    refused = node.http.post("/credentials/verify", json={"verifiableCredential": tampered})
    assert refused.status_code == 400 and refused.json()["verified"] is False
    assert "urn:credreg:problem:proof-failed" in [e["type"] for e in refused.json()["errors"]]

    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [signed],
    }
    presented = node.http.post("/presentations/verify", json={"verifiablePresentation": vp})
    assert presented.status_code == 200, presented.text
    assert presented.json()["credentialResults"][0]["verified"] is True

    status_docs = {url: node.http.get(url).json() for url in lists}
    judged = run_js(
        {
            "verify": [
                {"name": "issued", "credential": signed},
                {"name": "tampered", "credential": tampered},
            ],
            "statusLists": status_docs,
        }
    )
    assert judged["verified"]["issued"] == {"verified": True}, judged["verified"]["issued"]
    assert judged["verified"]["tampered"]["verified"] is False
