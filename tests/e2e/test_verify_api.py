"""POST /v1/verify (public) and GET /verify: reports as JSON, problem+json for malformed input, never 500."""

from __future__ import annotations

import copy
import json
import time

import pytest
from fastapi.testclient import TestClient

from anchoring.chain.deployment import Deployment
from node.dev.chains import free_port
from node.dev.network import DEV_DIDS
from tests.helpers.bundles import make_batch
from tests.helpers.credentials import credential
from tests.helpers.nodes import build_app

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def batch(dev_network):
    return make_batch(dev_network, [credential(i) for i in range(4)])


@pytest.fixture()
def client(dev_network, tmp_path):
    with TestClient(build_app(tmp_path, dev_network.chain.rpc_url, dev_network.deployment)) as c:
        yield c


def is_problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


def test_one_valid_bundle(client, batch):
    r = client.post("/v1/verify", json=batch.bundles[0])  # no Authorization header: public
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["verdict"] == "valid"
    assert [c["status"] for c in report["checks"]] == [
        "pass"
    ] * 13  # 7 anchor checks + signature, dates, status, scope, joint, stack
    assert report["summary"]["issuer_did"] == DEV_DIDS["issuer"]


def test_tampered_bundle_is_200_invalid_naming_the_check(client, batch):
    b = copy.deepcopy(batch.bundles[1])
    b["credential"]["credentialSubject"]["score"] = 99
    report = client.post("/v1/verify", json=b).json()
    assert report["verdict"] == "invalid"
    assert [c["name"] for c in report["checks"] if c["status"] == "fail"] == ["integrity"]


def test_many_bundles_as_object_or_array(client, batch):
    bad = copy.deepcopy(batch.bundles[2])
    del bad["anchor"]["txHash"]
    for body in ({"bundles": [*batch.bundles[:2], bad]}, [*batch.bundles[:2], bad]):
        r = client.post("/v1/verify", json=body)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["verdict"] == "invalid"
        assert doc["counts"] == {"total": 3, "valid": 2, "invalid": 1, "error": 0}
        fmt = doc["reports"][2]["checks"][0]
        assert (
            fmt["name"] == "format" and fmt["status"] == "fail" and fmt["details"]["field"] == "anchor.txHash"
        )
        assert doc["reports"][2]["source"] == "bundles[2]"


def test_malformed_input_is_problem_json_naming_the_field(client, batch):
    bad = copy.deepcopy(batch.bundles[0])
    bad["proof"][1] = "0x1234"
    p = is_problem(client.post("/v1/verify", json=bad), 422)
    assert p["errors"][0]["field"] == "proof[1]" and p["errors"][0]["pointer"] == "/proof/1"
    assert p["type"] == "urn:credreg:problem:invalid-bundle"
    bad = copy.deepcopy(batch.bundles[0])
    bad["anchor"]["issuer"] = bad["anchor"]["issuer"].lower()
    assert is_problem(client.post("/v1/verify", json=bad), 422)["errors"][0]["field"] == "anchor.issuer"
    p = is_problem(
        client.post("/v1/verify", content=b"{not json", headers={"content-type": "application/json"}), 400
    )
    assert p["errors"][0]["field"] == "body"
    assert is_problem(client.post("/v1/verify", content=b""), 400)["errors"][0]["field"] == "body"
    assert is_problem(client.post("/v1/verify", json="a string"), 422)["errors"][0]["field"] == "body"
    assert is_problem(client.post("/v1/verify", json={"bundles": {}}), 422)["errors"][0]["field"] == "bundles"
    assert is_problem(client.post("/v1/verify", json={"bundles": []}), 422)["errors"][0]["field"] == "bundles"
    assert is_problem(client.post("/v1/verify", json=[]), 422)["errors"][0]["field"] == "bundles"
    text = json.dumps(batch.bundles[0])[:-1] + ', "root": "0x00"}'
    assert is_problem(client.post("/v1/verify", content=text.encode()), 400)["errors"][0]["field"] == "root"


def test_too_many_bundles_is_413(dev_network, tmp_path, batch):
    app = build_app(tmp_path, dev_network.chain.rpc_url, dev_network.deployment, max_verify_bundles=2)
    with TestClient(app) as c:
        assert (
            is_problem(c.post("/v1/verify", json=batch.bundles[:3]), 413)["errors"][0]["field"] == "bundles"
        )


def test_chain_down_is_200_with_error_checks_and_no_endpoint_secrets(dev_network, tmp_path, batch):
    app = build_app(
        tmp_path,
        f"http://127.0.0.1:{free_port()}/v3/SECRET-API-KEY",
        dev_network.deployment,
        chain_probe_timeout_seconds=0.5,
    )
    with TestClient(app) as c:
        r = c.post("/v1/verify", json=batch.bundles[0])
        assert r.status_code == 200
        report = r.json()
        assert report["verdict"] == "error"
        assert {c["name"]: c["status"] for c in report["checks"]}["anchored"] == "error"
        assert "cannot reach the node's RPC endpoint" in report["checks"][3]["reason"]
        assert "SECRET" not in r.text and "127.0.0.1" not in r.text


def test_wrong_chain_is_200_with_error(dev_network, tmp_path, batch):
    d = dev_network.deployment
    wrong = Deployment(d.chain_id + 1, d.issuer_registry, d.credential_anchor, d.deployment_block)
    with TestClient(build_app(tmp_path, dev_network.chain.rpc_url, wrong)) as c:
        report = c.post("/v1/verify", json=batch.bundles[0]).json()
        assert report["verdict"] == "error" and "serves chain" in report["checks"][3]["reason"]
        assert dev_network.chain.rpc_url not in json.dumps(report)


def test_no_chain_configured_is_503(dev_network, tmp_path, batch):
    app = build_app(tmp_path, None, dev_network.deployment)
    with TestClient(app) as c:
        assert is_problem(c.post("/v1/verify", json=batch.bundles[0]), 503)["type"].endswith(
            "verification-unavailable"
        )


def test_verifier_page_and_assets_are_served(client):
    r = client.get("/verify")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert 'src="verify/assets/verify.js"' in r.text
    assert "http://" not in r.text and "https://" not in r.text  # no CDN
    assert client.get("/verify/assets/verify.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/verify/assets/verify.css").status_code == 200
    assert "/v1/verify" in client.get("/openapi.json").json()["paths"]


def test_the_report_carries_the_human_content_and_a_revocation_reason_in_words(dev_network, client):
    from tests.helpers.samples import EC_ANNEX1, load

    ec = load(EC_ANNEX1)
    ec["issuer"]["id"] = "did:example:dev-university"
    fresh = make_batch(dev_network, [ec, credential(7)])
    view = client.post("/v1/verify", json=fresh.bundles[0]).json()["credential_view"]
    assert (view["title"], view["holder"], view["ects"], view["eqf"]) == (
        "Digital micro-credential creation",
        "Ana Andromeda",
        "2",
        "6",
    )
    assert view["issuer_name"] == "University of Zed" and view["status"] == "valid"
    fresh.revoke(dev_network, dev_network.issuer, [0], reason=102)  # academicMisconduct
    # the node's reports read the chain as it was at most one head poll ago (node/verifier_chain.py): on a fast
    # machine the revocation is mined within that interval of the request above
    time.sleep(client.app.state.settings.verify_head_poll_seconds)
    report = client.post("/v1/verify", json=fresh.bundles[0]).json()
    not_revoked = next(c for c in report["checks"] if c["name"] == "not_revoked")
    assert "academic misconduct found after the award (academicMisconduct)" in not_revoked["reason"]
    assert (
        "reason code" not in not_revoked["reason"]
        and not_revoked["details"]["reason"] == "academicMisconduct"
    )
    view = report["credential_view"]
    assert view["status"] == "revoked" and view["status_reason"] == "academicMisconduct"
    assert view["status_text"].startswith("revoked on ") and "academic misconduct" in view["status_text"]
    batch_doc = client.post("/v1/verify", json=fresh.bundles).json()
    assert [r["credential_view"]["status"] for r in batch_doc["reports"]] == ["revoked", "valid"]


def test_a_warm_single_bundle_is_verified_on_the_event_loop_and_reads_the_same(
    dev_network, tmp_path, batch, monkeypatch
):
    import api.routers.verify as verify_router

    handed: list[str] = []
    real = verify_router.run_in_threadpool

    async def counting(fn, *args, **kwargs):
        handed.append(fn.__name__)
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(verify_router, "run_in_threadpool", counting)
    app = build_app(tmp_path, dev_network.chain.rpc_url, dev_network.deployment, verify_head_poll_seconds=60)
    with TestClient(app) as c:
        cold = c.post("/v1/verify", json=batch.bundles[0])
        assert cold.status_code == 200 and handed == [
            "in_verify_slot"
        ]  # nothing cached: a thread asks the chain
        warm = c.post("/v1/verify", json=batch.bundles[1])
        assert warm.status_code == 200 and handed == ["in_verify_slot"]  # same root, same head: no thread
        again = c.post("/v1/verify", json=batch.bundles[0])
        assert _same_but_times(again.json(), cold.json())  # the fast path reports what the thread did
        assert c.post("/v1/verify", json={"bundles": batch.bundles[:2]}).status_code == 200
        assert handed == ["in_verify_slot"] * 2  # many bundles: always a thread
        big = copy.deepcopy(batch.bundles[2])
        big["pad"] = "x" * (verify_router.INLINE_MAX_BYTES + 1)
        assert c.post("/v1/verify", json=big).status_code == 422  # "pad" is no member of a bundle
        assert handed == ["in_verify_slot"] * 3  # large bodies: a thread
        # a bad body is refused the same way on the fast path
        r = c.post("/v1/verify", json={**batch.bundles[1], "digest": "0x12"})
        assert is_problem(r, 422)["errors"][0]["field"] == "digest" and handed == ["in_verify_slot"] * 3


def _same_but_times(a: dict, b: dict) -> bool:
    """The validity-period check states the current time."""
    strip = [{k: v for k, v in c.items() if c["name"] != "validity_period"} for c in a["checks"]]
    return strip == [{k: v for k, v in c.items() if c["name"] != "validity_period"} for c in b["checks"]]


def test_a_client_that_hangs_up_mid_body_is_not_an_error(dev_network, tmp_path, caplog):
    import asyncio

    app = build_app(tmp_path, dev_network.chain.rpc_url, dev_network.deployment)
    sent: list[dict] = []

    async def hang_up():
        messages = [
            {"type": "http.request", "body": b'{"format":', "more_body": True},
            {"type": "http.disconnect"},
        ]

        async def receive():
            return messages.pop(0)

        async def send(message):
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/verify",
            "raw_path": b"/v1/verify",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"node"), (b"content-type", b"application/json")],
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        await app(scope, receive, send)

    with caplog.at_level("INFO"):
        asyncio.run(hang_up())  # no exception escapes to the server
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert sent[0]["status"] == 400  # nobody reads it; not a 500
