"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis, in-process ASGI), with and
without an issuer token: no response is a server error, and every response has a documented status code, media
type, headers and body schema. Bounded: a few examples per operation (about a minute for both runs here)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from anchoring.chain.deployment import Deployment
from api.app import create_app
from node.dev.chains import free_port
from node.settings import Settings
from node.storage.db import make_engine, upgrade
from node.storage.db import session_factory as make_session_factory
from tests.helpers.db import make_issuer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 4


# the app is built at import (schemathesis reads its OpenAPI document to make the tests); its database is migrated
# and given an issuer by the module fixture below, before the first request
_FOLDER = Path(tempfile.mkdtemp(prefix="credreg-fuzz-"))
_URL = f"sqlite:///{_FOLDER / 'fuzz.db'}"
_DEPLOYMENT = _FOLDER / "deployment.json"
Deployment(31337, "0x" + "77" * 20, "0x" + "88" * 20, 1).save(_DEPLOYMENT)
# a chain that refuses connections at once: verification runs and reports `error` checks (200), as documented
APP = create_app(
    Settings(
        data_dir=_FOLDER,
        database_url=_URL,
        rpc_url=f"http://127.0.0.1:{free_port()}",
        deployment_file=_DEPLOYMENT,
        chain_probe_timeout_seconds=0.5,
        rate_limit_enabled=False,
        _env_file=None,
    )
)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx, value) -> bytes:
    items = value if isinstance(value, list) else [value]
    return "".join(json.dumps(item) + "\n" for item in items).encode()


def _checks(case) -> list:
    # /readyz answers 503 when a dependency is down (here: the chain), by design and as documented
    return CHECKS[1:] if case.path == "/readyz" else CHECKS


@pytest.fixture(scope="module")
def issuer():
    engine = make_engine(_URL)
    upgrade(engine)
    made = make_issuer(make_session_factory(engine))
    engine.dispose()
    yield made
    shutil.rmtree(_FOLDER, ignore_errors=True)


_BOUNDED = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@schema.parametrize()
@_BOUNDED
def test_anonymous_requests_conform_to_the_openapi_document(case, issuer):
    case.call_and_validate(checks=_checks(case))


@schema.parametrize()
@_BOUNDED
def test_issuer_token_requests_conform_to_the_openapi_document(case, issuer):
    case.call_and_validate(headers=issuer.headers, checks=_checks(case))
