"""POST/GET /v1/credentials: acceptance, idempotency, every bad input as problem+json, auth, bundles."""

from __future__ import annotations

import json

import pytest

from node.pipeline import batches, sealer
from tests.helpers.db import count_rows, make_issuer
from tests.helpers.problems import assert_problem

PROBLEM = "application/problem+json"


def cred(i: int, **extra) -> dict:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": f"urn:test:{i}",
        "type": ["VerifiableCredential"],
        "credentialSubject": {"name": f"L{i}"},
        **extra,
    }


def test_accept_one(client, issuer, engine):
    r = client.post("/v1/credentials", headers=issuer.headers, json=cred(1))
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "pending" and body["created"] is True
    assert body["digest"].startswith("0x") and len(body["digest"]) == 66
    assert body["statusUrl"].endswith(f"/v1/credentials/{body['digest']}")
    r2 = client.get(body["statusUrl"], headers=issuer.headers)
    assert r2.status_code == 200 and r2.json()["status"] == "pending" and r2.json()["id"] == "urn:test:1"
    assert count_rows(engine, "credential") == 1


def test_accept_bulk_json_and_ndjson(client, issuer, engine):
    items = [cred(i) for i in range(300)]
    r = client.post("/v1/credentials/bulk", headers=issuer.headers, json=items)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["count"] == 300 == body["created"] and len(set(body["digests"])) == 300
    assert [it["index"] for it in body["items"]] == list(range(300))
    nd = "\n".join(json.dumps(cred(i)) for i in range(300, 310)) + "\n"
    r = client.post(
        "/v1/credentials/bulk", headers={**issuer.headers, "Content-Type": "application/x-ndjson"}, content=nd
    )
    assert r.status_code == 202, r.text
    assert r.json()["count"] == 10
    assert count_rows(engine, "credential") == 310


def test_idempotency_key_header(client, issuer, engine):
    h = {**issuer.headers, "Idempotency-Key": "grad-2026-0001"}
    a = client.post("/v1/credentials", headers=h, json={"name": "no id field"})
    b = client.post("/v1/credentials", headers=h, json={"name": "no id field"})
    assert a.status_code == b.status_code == 202
    assert a.json()["digest"] == b.json()["digest"] and b.json()["created"] is False
    assert b.headers.get("Idempotent-Replayed") == "true"
    c = client.post("/v1/credentials", headers=h, json={"name": "something else"})
    assert_problem(c, 409, "header.Idempotency-Key")
    assert count_rows(engine, "credential") == 1


def test_idempotency_by_credential_id(client, issuer, engine):
    a = client.post("/v1/credentials", headers=issuer.headers, json=cred(7))
    b = client.post("/v1/credentials", headers=issuer.headers, json=cred(7))
    assert a.json()["digest"] == b.json()["digest"] and b.json()["created"] is False
    c = client.post("/v1/credentials", headers=issuer.headers, json=cred(7, changed=True))
    assert_problem(c, 409, "id")
    # bulk replay returns the same digests in order, duplicates inside a request collapse
    r1 = client.post("/v1/credentials/bulk", headers=issuer.headers, json=[cred(7), cred(8), cred(8)])
    assert r1.status_code == 202
    d = r1.json()["digests"]
    assert d[0] == a.json()["digest"] and d[1] == d[2]
    assert count_rows(engine, "credential") == 2
    r2 = client.post("/v1/credentials/bulk", headers=issuer.headers, json=[cred(9), cred(9, other=1)])
    assert_problem(r2, 409, "[1].id")
    assert count_rows(engine, "credential") == 2


def test_bulk_idempotency_key(client, issuer, engine):
    h = {**issuer.headers, "Idempotency-Key": "bulk-1"}
    items = [{"n": i} for i in range(5)]
    a = client.post("/v1/credentials/bulk", headers=h, json=items)
    b = client.post("/v1/credentials/bulk", headers=h, json=items)
    assert a.json()["digests"] == b.json()["digests"] and b.json()["created"] == 0
    c = client.post("/v1/credentials/bulk", headers=h, json=[{"n": 0}, {"n": 99}])
    body = assert_problem(c, 409)
    assert [e["index"] for e in body["errors"]] == [1]
    assert count_rows(engine, "credential") == 5


BAD_SINGLE = [
    # (description, kwargs for client.post, status, field)
    ("malformed json", {"content": b'{"a": 1,', "headers": {"Content-Type": "application/json"}}, 400, ""),
    ("empty body", {"content": b"", "headers": {"Content-Type": "application/json"}}, 400, ""),
    ("not utf-8", {"content": b'{"a": "\xff"}', "headers": {"Content-Type": "application/json"}}, 400, ""),
    ("array not object", {"json": [1, 2]}, 422, ""),
    ("string not object", {"json": "hello"}, 422, ""),
    ("NaN", {"content": b'{"a": NaN}', "headers": {"Content-Type": "application/json"}}, 400, ""),
    (
        "duplicate key",
        {"content": b'{"a": 1, "a": 2}', "headers": {"Content-Type": "application/json"}},
        400,
        "",
    ),
    (
        "huge integer",
        {
            "content": b'{"credentialSubject": {"score": 123456789012345678901234}}',
            "headers": {"Content-Type": "application/json"},
        },
        422,
        "credentialSubject.score",
    ),
    ("id not a string", {"json": {"id": 5}}, 422, "id"),
    (
        "wrong content type",
        {"content": b"a=1", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        415,
        "header.Content-Type",
    ),
    (
        "no content type",
        {"content": b'{"a": 1}', "headers": {"Content-Type": ""}},
        415,
        "header.Content-Type",
    ),
    ("too large", {"json": {"blob": "x" * 70_000}}, 413, "body"),
    ("unknown profile", {"json": {"a": 1}, "params": {"profile": "nope"}}, 422, "query.profile"),
    (
        "bad idempotency key",
        {"json": {"a": 1}, "headers": {"Idempotency-Key": "x" * 300}},
        422,
        "header.Idempotency-Key",
    ),
]


@pytest.mark.parametrize("case", BAD_SINGLE, ids=[c[0] for c in BAD_SINGLE])
def test_bad_single_input_is_a_problem_and_writes_nothing(client, issuer, engine, case):
    _, kwargs, status, field = case
    kwargs = dict(kwargs)
    kwargs["headers"] = {**issuer.headers, **kwargs.get("headers", {})}
    r = client.post("/v1/credentials", **kwargs)
    assert_problem(r, status, field)
    assert count_rows(engine, "credential") == 0


BAD_BULK = [
    ("object not array", {"json": {"a": 1}}, 422, ""),
    ("empty array", {"json": []}, 422, ""),
    ("item not object", {"json": [{"a": 1}, 5, {"b": 2}]}, 422, "[1]"),
    ("item bad field", {"json": [{"a": 1}, {"b": {"c": 2**60}}]}, 422, "[1].b.c"),
    ("item too large", {"json": [{"a": 1}, {"blob": "x" * 70_000}]}, 413, "[1]"),
    ("too many items", {"json": [{"n": i} for i in range(5001)]}, 413, ""),
    (
        "ndjson bad line",
        {"content": b'{"a": 1}\n{"a": \n', "headers": {"Content-Type": "application/x-ndjson"}},
        400,
        "[1]",
    ),
    (
        "wrong content type",
        {"content": b"<a/>", "headers": {"Content-Type": "application/xml"}},
        415,
        "header.Content-Type",
    ),
]


@pytest.mark.parametrize("case", BAD_BULK, ids=[c[0] for c in BAD_BULK])
def test_bad_bulk_input_is_a_problem_and_writes_nothing(client, issuer, engine, case):
    _, kwargs, status, field = case
    kwargs = dict(kwargs)
    kwargs["headers"] = {**issuer.headers, **kwargs.get("headers", {})}
    r = client.post("/v1/credentials/bulk", **kwargs)
    body = assert_problem(r, status, field)
    if field.startswith("["):
        assert body["errors"][0]["index"] == int(field[1])
    assert count_rows(engine, "credential") == 0


def test_body_limit_enforced_without_content_length(client, issuer, engine, app):
    def gen():
        yield b'{"blob": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    r = client.post(
        "/v1/credentials", headers={**issuer.headers, "Content-Type": "application/json"}, content=gen()
    )
    assert_problem(r, 413)
    assert count_rows(engine, "credential") == 0


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}],
)
def test_auth_missing_or_wrong(client, engine, issuer, headers):
    r = client.post("/v1/credentials", headers=headers, json=cred(1))
    assert_problem(r, 401, "header.Authorization")
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert_problem(client.post("/v1/credentials/bulk", headers=headers, json=[cred(1)]), 401)
    assert_problem(client.get("/v1/credentials/0x" + "00" * 32, headers=headers), 401)
    assert count_rows(engine, "credential") == 0


def test_revoked_token_and_reader_role(client, engine, issuer, session_factory):
    from node.auth.tokens import revoke_token

    r = client.post(
        "/v1/credentials", headers={"Authorization": f"Bearer {issuer.reader_token}"}, json=cred(1)
    )
    assert_problem(r, 403, "header.Authorization")
    ok = client.post("/v1/credentials", headers=issuer.headers, json=cred(2))
    digest = ok.json()["digest"]
    assert (
        client.get(
            f"/v1/credentials/{digest}", headers={"Authorization": f"Bearer {issuer.reader_token}"}
        ).status_code
        == 200
    )
    with session_factory() as s:
        revoke_token(s, issuer.token)
        s.commit()
    assert_problem(client.post("/v1/credentials", headers=issuer.headers, json=cred(3)), 401)
    assert count_rows(engine, "credential") == 1


def test_status_is_issuer_only(client, issuer, session_factory):
    other = make_issuer(session_factory, "Other Uni", "0x" + "22" * 20)
    d = client.post("/v1/credentials", headers=issuer.headers, json=cred(1)).json()["digest"]
    assert_problem(client.get(f"/v1/credentials/{d}", headers=other.headers), 404)
    assert_problem(client.get(f"/v1/credentials/{d}/bundle", headers=other.headers), 404)
    assert_problem(client.get("/v1/credentials/0x" + "ab" * 32, headers=issuer.headers), 404, "path.digest")
    assert_problem(client.get("/v1/credentials/not-hex", headers=issuer.headers), 422, "path.digest")


def test_bundle_409_until_anchored_then_valid(client, issuer, session_factory, settings):
    from anchoring.bundle import load
    from anchoring.chain.deployment import Deployment
    from node.storage.models import Batch

    contract = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    Deployment(31337, "0x" + "77" * 20, contract, 1).save(settings.deployment_file)

    d = client.post("/v1/credentials", headers=issuer.headers, json=cred(1)).json()["digest"]
    body = assert_problem(client.get(f"/v1/credentials/{d}/bundle", headers=issuer.headers), 409)
    assert "not" in body["detail"] and "anchored" in body["title"].lower()
    [bid] = sealer.seal_due_batches(session_factory, settings, force=True)
    assert_problem(client.get(f"/v1/credentials/{d}/bundle", headers=issuer.headers), 409)
    with session_factory() as s:
        b = s.get(Batch, bid)
        batches.record_submission(
            s,
            b,
            nonce=0,
            tx_hash="0x" + "12" * 32,
            chain_id=31337,
            contract_address=contract,
        )
        batches.record_confirmation(
            s,
            b,
            block_number=3,
            block_hash="0x" + "34" * 32,
            confirmations=1,
            block_timestamp=1_780_000_000,
            gas_used=52_000,
        )
    r = client.get(f"/v1/credentials/{d}/bundle", headers=issuer.headers)
    assert r.status_code == 200, r.text
    pb = load(r.json(), check_integrity=True)
    assert r.json()["format"] == "credreg-bundle/2" and pb.inclusions[0].contract_version == "2.0.0"
    assert pb.credential == cred(1) and "0x" + pb.digest.hex() == d
    assert client.get(f"/v1/credentials/{d}", headers=issuer.headers).json()["status"] == "anchored"


def test_unexpected_error_is_a_problem_without_leaking(app, issuer, monkeypatch):
    from fastapi.testclient import TestClient

    import api.routers.credentials as cr

    def boom(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(cr, "credential_status", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/v1/credentials/0x" + "00" * 32, headers=issuer.headers)
    body = assert_problem(r, 500)
    assert "secret" not in r.text and body["type"].endswith("internal-error")


def test_method_not_allowed_and_unknown_route_are_problems(client):
    assert_problem(client.delete("/v1/credentials"), 405)
    assert_problem(client.get("/v1/nothing-here"), 404)
