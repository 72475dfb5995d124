"""Hostile bodies on every route that reads one: deep nesting, too many values, lone surrogates, NaN, duplicate
keys. Each is a 4xx problem+json, nothing is stored, and a real server process survives them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from node.dev.chains import free_port
from node.settings import Settings
from node.storage.db import make_engine, upgrade
from node.storage.db import session_factory as make_session_factory
from tests.helpers.db import count_rows, make_issuer
from tests.helpers.problems import PROBLEM, assert_problem

DEEP = b"[" * 100_000
DIGEST = "0x" + "ab" * 32

# (method, path, needs an issuer token, content type)
BODY_ROUTES = [
    ("/v1/verify", False, "application/json"),
    ("/v1/credentials", True, "application/json"),
    ("/v1/credentials/bulk", True, "application/json"),
    ("/v1/credentials/bulk", True, "application/x-ndjson"),
    (f"/v1/credentials/{DIGEST}/revoke", True, "application/json"),
    (f"/v1/credentials/{DIGEST}/suspend", True, "application/json"),
    (f"/v1/credentials/{DIGEST}/reinstate", True, "application/json"),
    ("/v1/revocations", True, "application/json"),
    ("/v1/status/allocate", True, "application/json"),
]


@pytest.fixture
def settings(db_url, tmp_path):
    """The default body limits (the shared fixture lowers the credential limit below these bodies' sizes)."""
    # hostile bodies reach the parser whatever their shape; the W3C VC rules are tested in test_vc_issuance.py
    return Settings(data_dir=tmp_path / "data", database_url=db_url, vc_validation="off", _env_file=None)


def _post(client, issuer, path: str, auth: bool, ctype: str, body: bytes):
    headers = {"Content-Type": ctype, **(issuer.headers if auth else {})}
    return client.post(path, headers=headers, content=body)


def test_deep_nesting_is_a_4xx_problem_on_every_body_route(client, issuer, engine):
    for path, auth, ctype in BODY_ROUTES:
        for body in (DEEP, b'{"a":' * 100_000, b"[" * 257 + b"]" * 257):
            r = _post(client, issuer, path, auth, ctype, body)
            assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:300])
            assert r.headers["content-type"].startswith(PROBLEM)
            # refused by depth (NDJSON names it per line, in errors[]), or first by a body limit below its size
            assert "nested" in r.text or (r.status_code == 413 and len(body) > 64 * 1024), (path, r.json())
    assert count_rows(engine, "credential") == 0
    assert count_rows(engine, "status_change") == 0


def test_lone_surrogate_is_422_on_every_body_route(client, issuer):
    for path, auth, ctype in BODY_ROUTES:
        r = _post(client, issuer, path, auth, ctype, rb'{"\udc00":"x"}')
        if ctype == "application/x-ndjson":  # NDJSON reports every bad line at once, as a 400 naming the line
            assert_problem(r, 400)
            assert r.json()["errors"][0]["line"] == 1 and "surrogate" in r.json()["errors"][0]["message"]
        else:
            assert_problem(r, 422)
            assert "surrogate" in r.json()["detail"], (path, r.json())


def test_surrogate_pairs_are_characters(client, issuer, engine):
    r = _post(client, issuer, "/v1/credentials", True, "application/json", rb'{"name":"\ud83c\udf93 grad"}')
    assert r.status_code == 202, r.text
    assert count_rows(engine, "credential") == 1


def test_a_deep_but_allowed_credential_is_not_a_server_error(client, issuer):
    """256 levels pass the cap; canonicalising, hashing and storing them must not run out of recursion."""
    inner: object = "leaf"
    for _ in range(250):
        inner = {"n": inner}
    r = client.post(
        "/v1/credentials", headers=issuer.headers, json={"id": "urn:deep", "credentialSubject": inner}
    )
    assert r.status_code < 500, r.text[:500]


def test_bulk_json_value_count_is_capped_naming_the_setting(settings, engine, issuer):
    from fastapi.testclient import TestClient

    from api.app import create_app

    capped = settings.model_copy(update={"max_json_values": 1000})
    with TestClient(create_app(capped, engine=engine), raise_server_exceptions=False) as client:
        r = client.post("/v1/credentials/bulk", headers=issuer.headers, json=[{"i": list(range(10))}] * 200)
        body = assert_problem(r, 413)
        assert body["errors"][0]["setting"] == "CREDREG_MAX_JSON_VALUES"
        ok = client.post("/v1/credentials/bulk", headers=issuer.headers, json=[{"i": i} for i in range(100)])
        assert ok.status_code == 202, ok.text
    assert count_rows(engine, "credential") == 100


def test_ndjson_keeps_u2028_and_u2029_inside_strings(client, issuer, engine):
    lines = [
        json.dumps({"id": f"urn:ls:{i}", "note": f"a\u2028b\u2029c{i}"}, ensure_ascii=False) for i in range(3)
    ]
    body = ("\r\n".join(lines) + "\n").encode("utf-8")
    r = _post(client, issuer, "/v1/credentials/bulk", True, "application/x-ndjson", body)
    assert r.status_code == 202, r.text
    assert r.json()["count"] == 3
    assert count_rows(engine, "credential") == 3


def test_revocation_and_status_refuse_duplicate_keys_and_nan(client, issuer, engine):
    bodies = [
        b'{"reason": "keyCompromise", "reason": "superseded"}',
        b'{"reason": NaN}',
        b'{"reason": -Infinity}',
        b'{"action": "revoke", "action": "suspend", "digests": []}',
    ]
    for path in (f"/v1/credentials/{DIGEST}/revoke", "/v1/revocations", "/v1/status/allocate"):
        for body in bodies:
            r = _post(client, issuer, path, True, "application/json", body)
            assert_problem(r, 400)
    assert count_rows(engine, "status_change") == 0
    assert count_rows(engine, "status_list") == 0


def test_a_real_server_survives_every_hostile_body(tmp_path):
    """A uvicorn process (the node's own app factory, as `credreg serve` runs it) gets 100,000 nested brackets on
    every body route and still answers afterwards; a segfault would leave no process to answer."""
    db = tmp_path / "node.db"
    url = f"sqlite:///{db}"
    engine = make_engine(url)
    upgrade(engine)
    issuer = make_issuer(make_session_factory(engine))
    engine.dispose()
    port = free_port()
    env = {
        **os.environ,
        "CREDREG_DATABASE_URL": url,
        "CREDREG_DATA_DIR": str(tmp_path),
        "CREDREG_ENV_FILE": str(tmp_path / "none.env"),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=30) as http:
            for path, auth, ctype in BODY_ROUTES:
                for body in (DEEP, b'{"a":[' * 50_000):
                    r = _post(http, issuer, path, auth, ctype, body)
                    assert 400 <= r.status_code < 500, (path, r.status_code)
                    assert proc.poll() is None, f"the server died on {path}"
            assert http.get("/healthz").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode in (0, -15), proc.returncode


def test_settings_default_value_cap():
    assert Settings(_env_file=None).max_json_values >= 1_000_000
