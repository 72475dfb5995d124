"""Public endpoints small and bounded: per-route body limits (413 naming the setting), the verify concurrency
bound (503 + Retry-After), rate limits per client IP, per token and for failed authentications (429 +
Retry-After), all problem+json."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from api.app import create_app
from node.settings import Settings
from tests.helpers.db import make_issuer
from tests.helpers.problems import assert_problem

BUNDLE = {"format": "credreg-bundle/1"}


def _client(settings: Settings, engine, **update) -> TestClient:
    return TestClient(
        create_app(settings.model_copy(update={"rate_limit_enabled": True, **update}), engine=engine),
        raise_server_exceptions=False,
    )


def test_verify_body_and_bundle_count_limits_name_their_settings(settings, engine):
    with _client(settings, engine, max_verify_bytes=4096, max_verify_bundles=3) as c:
        big = json.dumps({**BUNDLE, "pad": "x" * 5000}).encode()
        r = c.post("/v1/verify", content=big, headers={"Content-Type": "application/json"})
        body = assert_problem(r, 413, "body")
        assert (
            body["errors"][0]["setting"] == "CREDREG_MAX_VERIFY_BYTES" and body["errors"][0]["limit"] == 4096
        )
        # without Content-Length (chunked): refused while reading, not after
        r = c.post(
            "/v1/verify", content=iter([big[:3000], big[3000:]]), headers={"Content-Type": "application/json"}
        )
        assert_problem(r, 413, "body")
        body = assert_problem(c.post("/v1/verify", json=[BUNDLE] * 4), 413, "bundles")
        assert body["errors"][0]["setting"] == "CREDREG_MAX_VERIFY_BUNDLES"
        # within both limits: past the limits (this node has no chain, so 503 verification-unavailable)
        assert c.post("/v1/verify", json=[BUNDLE] * 3).json()["type"].endswith("verification-unavailable")


def test_the_default_verify_limit_is_far_below_the_bulk_limit():
    s = Settings(_env_file=None)
    assert s.max_verify_bytes <= s.max_request_bytes / 8 and s.max_verify_bundles < s.max_bulk_items


def test_verify_saturated_is_503_with_retry_after(settings, engine):
    with _client(settings, engine, verify_concurrency=2, verify_queue_seconds=0.05) as c:
        slots = c.app.state.verify_slots  # type: ignore[attr-defined]
        assert slots.acquire(blocking=False) and slots.acquire(blocking=False)  # two verifications running
        try:
            r = c.post("/v1/verify", json=BUNDLE)
            body = assert_problem(r, 503)
            assert (
                r.headers["retry-after"] == "1"
                and body["errors"][0]["setting"] == "CREDREG_VERIFY_CONCURRENCY"
            )
        finally:
            slots.release()
        r = c.post("/v1/verify", json=BUNDLE)  # one slot free again: verification runs
        assert r.json()["type"].endswith("verification-unavailable")
        slots.release()


def test_rate_limit_per_ip_is_429_with_retry_after_and_spares_the_probes(settings, engine):
    with _client(settings, engine, rate_limit_per_ip="5/minute") as c:
        for _ in range(5):
            assert c.get("/v1/registry/issuers").status_code == 200
        r = c.get("/v1/registry/issuers")
        body = assert_problem(r, 429)
        assert body["type"] == "urn:credreg:problem:rate-limited" and 1 <= int(r.headers["retry-after"]) <= 60
        assert_problem(c.post("/v1/verify", json=BUNDLE), 429)  # every route, public POSTs too
        for _ in range(10):
            assert c.get("/healthz").status_code == 200


def test_rate_limit_per_token_counts_each_token_apart(settings, engine, session_factory):
    a = make_issuer(session_factory, "Uni A", "0x" + "aa" * 20)
    b = make_issuer(session_factory, "Uni B", "0x" + "bb" * 20)
    with _client(settings, engine, rate_limit_per_token="3/minute") as c:
        for _ in range(3):
            assert c.get("/v1/revocations/none", headers=a.headers).status_code == 404
        assert_problem(c.get("/v1/revocations/none", headers=a.headers), 429)
        assert c.get("/v1/revocations/none", headers=b.headers).status_code == 404  # same IP, other token
        assert c.get("/v1/registry/issuers").status_code == 200  # no token: the IP's own budget


def test_token_guessing_is_stopped_after_the_failure_budget(settings, engine, session_factory):
    good = make_issuer(session_factory, "Uni G", "0x" + "cc" * 20)
    with _client(settings, engine, rate_limit_auth_failures="5/minute") as c:
        for i in range(5):
            r = c.get("/v1/revocations/none", headers={"Authorization": f"Bearer crt_guess{i}"})
            assert_problem(r, 401)
        r = c.get("/v1/revocations/none", headers={"Authorization": "Bearer crt_guess-next"})
        assert_problem(r, 429)
        assert "retry-after" in r.headers
        # locked out with a header at all until the window ends, even with a real token; public reads still work
        assert_problem(c.get("/v1/revocations/none", headers=good.headers), 429)
        assert c.get("/v1/registry/issuers").status_code == 200


def test_rate_limits_can_be_turned_off(settings, engine):
    with _client(settings, engine, rate_limit_enabled=False, rate_limit_per_ip="1/minute") as c:
        assert all(c.get("/v1/registry/issuers").status_code == 200 for _ in range(3))


def test_a_bad_rate_limit_setting_is_refused_at_start_up():
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="rate_limit_per_ip"):
        Settings(rate_limit_per_ip="lots", _env_file=None)
