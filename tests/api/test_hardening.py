"""Hardening of the HTTP surface: bounded query integers, page headers, the self-hosted /docs, the OpenAPI document
telling the truth about auth, media types and status codes."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest

from tests.helpers.problems import assert_problem

BIG = str(2**63)
ADDRESS = "0x" + "22" * 20


def test_integers_beyond_int64_are_422_naming_the_parameter(client):
    for url, field in [
        (f"/v1/registry/issuers?offset={BIG}", "query.offset"),
        (f"/v1/registry/issuers/{ADDRESS}/anchors?offset={BIG}", "query.offset"),
        (f"/v1/registry/issuers/{ADDRESS}/status?block={BIG}", "query.block"),
        (f"/v1/registry/issuers/{ADDRESS}/status?at={BIG}", "query.at"),
        (f"/v1/registry/issuers/{ADDRESS}/status?at={'9' * 5000}", "query.at"),
        (f"/v1/registry/issuers?offset={'9' * 5000}", "query.offset"),
    ]:
        assert_problem(client.get(url), 422, field)


def test_the_largest_int64_is_answered(client):
    top = 2**63 - 1
    assert client.get(f"/v1/registry/issuers?offset={top}").status_code == 200
    assert client.get(f"/v1/registry/issuers/{ADDRESS}/anchors?offset={top}").status_code == 200
    # no such issuer: 404, after the bound was checked (the values reach the database without overflowing it)
    assert_problem(client.get(f"/v1/registry/issuers/{ADDRESS}/status?block={top}"), 404)
    assert_problem(client.get(f"/v1/registry/issuers/{ADDRESS}/status?at={top}"), 404)


@pytest.mark.parametrize("page", ["/verify", "/registry", "/docs"])
def test_every_page_sends_a_strict_csp_and_security_headers(page):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from node.settings import Settings

    # pages need no database: one in memory, no migrations
    client = TestClient(create_app(Settings(database_url="sqlite://", _env_file=None)))
    r = client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    # nothing from another origin: every src/href is a path on this node
    for ref in re.findall(r'(?:src|href)="([^"]+)"', r.text):
        url = urljoin(f"http://testserver{page}", ref)
        assert url.startswith("http://testserver/"), ref
        if "/v1/" not in url:
            asset = client.get(url)
            assert asset.status_code == 200, ref
            assert asset.headers["content-security-policy"] == csp


def test_docs_is_swagger_ui_served_by_the_node(client):
    html = client.get("/docs").text
    assert "/docs/assets/swagger-ui-bundle.js" in html and "<script>" not in html  # no inline script
    js = client.get("/docs/assets/swagger-ui-bundle.js")
    assert js.headers["content-type"].startswith("text/javascript") and "SwaggerUIBundle" in js.text
    assert "/openapi.json" in client.get("/docs/assets/docs.js").text
    assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN


def test_openapi_declares_the_bearer_scheme_on_token_routes_only(client):
    doc = client.get("/openapi.json").json()
    scheme = doc["components"]["securitySchemes"]["issuerToken"]
    assert scheme == {**scheme, "type": "http", "scheme": "bearer"}
    secured = {
        ("post", "/v1/credentials"),
        ("post", "/v1/credentials/bulk"),
        ("post", "/v1/revocations"),
        ("post", "/v1/status/allocate"),
        ("get", "/v1/credentials/{digest}"),
    }
    public = {("post", "/v1/verify"), ("get", "/v1/proofs/{digest}"), ("get", "/v1/registry/issuers")}
    for method, path in secured:
        assert doc["paths"][path][method]["security"] == [{"issuerToken": []}], path
        assert "401" in doc["paths"][path][method]["responses"], path
    for method, path in public:
        assert "security" not in doc["paths"][path][method], path


def test_metrics_media_type_and_allocate_status_match_the_document(client, issuer):
    doc = client.get("/openapi.json").json()
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert list(doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == [
        metrics.headers["content-type"]
    ]
    r = client.post("/v1/status/allocate", headers=issuer.headers, json={"purposes": ["revocation"]})
    assert r.status_code == 201, r.text
    assert "201" in doc["paths"]["/v1/status/allocate"]["post"]["responses"]
    assert "200" not in doc["paths"]["/v1/status/allocate"]["post"]["responses"]
