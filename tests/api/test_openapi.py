"""The OpenAPI document of create_app: built without a warning, one operation id per route, a response
model for every success, problem+json for every error; and live responses match what it documents."""

from __future__ import annotations

import warnings

import pytest
from fastapi.routing import APIRoute
from jsonschema import Draft202012Validator

from api.errors import PROBLEM_JSON
from node.pipeline import batches, sealer
from node.settings import Settings

PROBLEM_SCHEMAS = {"#/components/schemas/ProblemDetail", "#/components/schemas/NotReadyProblem"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(app, openapi document), both built with every warning turned into an error."""
    from api.app import create_app

    tmp = tmp_path_factory.mktemp("openapi")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        app = create_app(Settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'o.db'}", _env_file=None))
        doc = app.openapi()
    return app, doc


CONTRACT = "0x" + "34" * 20


def _operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            yield f"{method.upper()} {path}", op


def test_operation_ids_are_unique(built):
    _, doc = built
    ids = [op["operationId"] for _, op in _operations(doc)]
    assert ids and len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_every_route_declares_its_response(built):
    app, _ = built
    from fastapi.responses import JSONResponse

    for route in app.routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            assert route.response_model is not None or route.response_class is not JSONResponse, route.path


def test_every_success_has_a_schema_and_every_error_is_problem_json(built):
    _, doc = built
    for name, op in _operations(doc):
        codes = op["responses"]
        ok = [c for c in codes if c.startswith("2")]
        assert ok, name
        for code in ok:
            content = codes[code].get("content")
            assert content and all(media.get("schema") for media in content.values()), (name, code)
        # OAuth 2.0 endpoints answer their 400/401 as application/json (RFC 6749 section 5.2), with the same body
        oauth = name.split(" ", 1)[1].startswith("/oid4vci/") and name != "POST /oid4vci/nonce"
        for code, response in codes.items():
            if code[0] in "45":
                media = "application/json" if oauth and code in ("400", "401") else PROBLEM_JSON
                assert list(response["content"]) == [media], (name, code)
                assert response["content"][media]["schema"]["$ref"] in PROBLEM_SCHEMAS, (name, code)


def test_every_reference_resolves(built):
    _, doc = built
    schemas = doc["components"]["schemas"]
    refs: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.add(node["$ref"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    assert refs and all(
        r.startswith("#/components/schemas/") and r.rsplit("/", 1)[1] in schemas for r in refs
    )
    assert "HTTPValidationError" not in schemas  # request validation errors are problems, not FastAPI's shape


# ------------------------------------------------------------------------------------- live responses
def _validator(
    doc, path: str, method: str, code: int, media: str = "application/json"
) -> Draft202012Validator:
    schema = doc["paths"][path][method]["responses"][str(code)]["content"][media]["schema"]
    return Draft202012Validator({**schema, "components": doc["components"]})


def _check(doc, response, path: str, method: str = "get") -> None:
    media = response.headers["content-type"].split(";")[0]
    media = PROBLEM_JSON if media == PROBLEM_JSON else "application/json"
    errors = list(_validator(doc, path, method, response.status_code, media).iter_errors(response.json()))
    assert not errors, (path, response.status_code, [e.message for e in errors[:3]])


def test_live_responses_match_the_document(client, issuer, session_factory, settings):
    from anchoring.chain.deployment import Deployment
    from anchoring.scheme.encoding import to_checksum_address

    Deployment(31337, "0x" + "77" * 20, to_checksum_address(CONTRACT), 1).save(settings.deployment_file)
    doc = client.get("/openapi.json").json()
    h = issuer.headers
    accepted = client.post(
        "/v1/credentials", headers=h, json={"id": "urn:o:1", "type": ["VerifiableCredential"]}
    )
    _check(doc, accepted, "/v1/credentials", "post")
    bulk = client.post("/v1/credentials/bulk", headers=h, json=[{"id": f"urn:o:{i}"} for i in range(2, 5)])
    _check(doc, bulk, "/v1/credentials/bulk", "post")
    digest = accepted.json()["digest"]
    _check(doc, client.get(f"/v1/proofs/{digest}"), "/v1/proofs/{digest}")
    _check(doc, client.get(f"/v1/credentials/{digest}", headers=h), "/v1/credentials/{digest}")
    _check(doc, client.get(f"/v1/credentials/{digest}/bundle", headers=h), "/v1/credentials/{digest}/bundle")
    for batch_id in sealer.seal_due_batches(session_factory, settings, force=True, issuer_id=issuer.id):
        with session_factory() as s:
            b = s.get(batches.Batch, batch_id)
            batches.record_submission(
                s,
                b,
                nonce=batch_id,
                tx_hash="0x" + f"{batch_id:064x}",
                chain_id=31337,
                contract_address=CONTRACT,
            )
            batches.record_confirmation(
                s,
                b,
                block_number=3,
                block_hash="0x" + "ab" * 32,
                confirmations=1,
                block_timestamp=1_780_000_000,
            )
    _check(doc, client.get(f"/v1/proofs/{digest}"), "/v1/proofs/{digest}")
    _check(doc, client.get(f"/v1/credentials/{digest}", headers=h), "/v1/credentials/{digest}")
    _check(doc, client.get(f"/v1/credentials/{digest}/bundle", headers=h), "/v1/credentials/{digest}/bundle")
    revoked = client.post(f"/v1/credentials/{digest}/revoke", headers=h, json={"reason": "fraud"})
    _check(doc, revoked, "/v1/credentials/{digest}/revoke", "post")
    _check(
        doc,
        client.get(f"/v1/revocations/{revoked.json()['requestId']}", headers=h),
        "/v1/revocations/{request_id}",
    )
    _check(
        doc,
        client.get(f"/v1/credentials/{digest}/revocation", headers=h),
        "/v1/credentials/{digest}/revocation",
    )
    _check(
        doc,
        client.post("/v1/revocations", headers=h, json={"action": "nope", "digests": [digest]}),
        "/v1/revocations",
        "post",
    )
    _check(doc, client.post("/v1/status/allocate", headers=h), "/v1/status/allocate", "post")
    _check(doc, client.get(f"/v1/status/{issuer.address}/revocation"), "/v1/status/{issuer_id}/{purpose}")
    _check(doc, client.get("/v1/registry/issuers"), "/v1/registry/issuers")
    _check(doc, client.get("/v1/registry/issuers?limit=0"), "/v1/registry/issuers")
    _check(doc, client.get("/v1/registry/tree"), "/v1/registry/tree")
    _check(doc, client.get("/v1/registry/export.json"), "/v1/registry/export.json")
    _check(doc, client.get("/healthz"), "/healthz")
    _check(doc, client.get("/readyz"), "/readyz")
    _check(doc, client.post("/v1/verify", json={}), "/v1/verify", "post")  # no chain configured: 503
