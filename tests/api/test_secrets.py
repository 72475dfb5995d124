"""Secrets stay secret: an RPC URL carrying an API key in its path never appears in a response or a log line
while the chain is down, and links the node serves come from its settings, never from the Host header."""

from __future__ import annotations

import logging

from fastapi.testclient import TestClient

from anchoring.chain.deployment import Deployment
from api.app import create_app
from node.dev.chains import free_port
from node.storage.registry_tables import RegistryIssuer
from tests.helpers.db import make_issuer

SECRET = "SECRET-API-KEY-0f3a9c"
EVIL = "evil.example"


def _registry_rows(session_factory, n: int) -> list[str]:
    addresses = [f"0x{i:040x}" for i in range(1, n + 1)]
    with session_factory() as s:
        for a in addresses:
            from web3 import Web3

            s.add(
                RegistryIssuer(
                    address=Web3.to_checksum_address(a),
                    kind="ti",
                    status="active",
                    document_hash="0x" + "00" * 32,
                    accredited_block=1,
                    accredited_tx="0x" + "11" * 32,
                    accredited_at=1,
                    updated_block=1,
                    updated_at=1,
                )
            )
        s.commit()
    return addresses


def test_a_dead_rpc_url_with_an_api_key_never_shows(settings, engine, session_factory, caplog, tmp_path):
    url = f"http://user:pass@127.0.0.1:{free_port()}/v3/{SECRET}?apikey={SECRET}"
    deployment = tmp_path / "deployment.json"
    Deployment(31337, "0x" + "77" * 20, "0x" + "88" * 20, 1).save(deployment)
    [address] = _registry_rows(session_factory, 1)
    caplog.set_level(logging.DEBUG)
    app = create_app(
        settings.model_copy(
            update={"rpc_url": url, "deployment_file": deployment, "chain_probe_timeout_seconds": 0.5}
        ),
        engine=engine,
    )
    with TestClient(app, raise_server_exceptions=False) as c:
        ready = c.get("/readyz")
        assert ready.status_code == 503 and "chain" in ready.json()["checks"], ready.text
        status = c.get(f"/v1/registry/issuers/{address}/status?verify=true")
        assert status.status_code == 200 and status.json()["chain"]["result"] == "error", status.text
        for r in (ready, status):
            assert SECRET not in r.text and "user:pass" not in r.text, r.text
        assert "127.0.0.1" in status.text  # the endpoint is still named, by host
        ready_chain = ready.json()["checks"]["chain"]["message"]
        if (
            "did not answer within" not in ready_chain
        ):  # a loaded machine may spend /readyz's 0.9 s budget first
            assert "127.0.0.1" in ready_chain, ready_chain
        logging.getLogger("web3.providers.HTTPProvider").warning("request to %s failed", url)
        try:
            raise ConnectionError(f"Max retries exceeded with url: /v3/{SECRET}?apikey={SECRET}")
        except ConnectionError:
            logging.getLogger("credreg.test").exception("chain call to %s", url)
    assert caplog.records, "the log lines were emitted"
    text = caplog.text + "".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert SECRET not in text and "user:pass" not in text
    assert "Max retries exceeded" in text  # the rest of the traceback is kept


def test_links_come_from_settings_never_from_the_host_header(settings, engine, session_factory):
    issuer = make_issuer(session_factory)
    _registry_rows(session_factory, 3)
    configured = settings.model_copy(update={"public_base_url": "https://node.uni.example"})
    with TestClient(create_app(configured, engine=engine), raise_server_exceptions=False) as c:
        poisoned = {"Host": EVIL, "X-Forwarded-Host": EVIL}
        r = c.post(
            "/v1/status/allocate", headers={**issuer.headers, **poisoned}, json={"purposes": ["revocation"]}
        )
        assert r.status_code == 201, r.text
        entry = r.json()["credentialStatus"][0]
        assert entry["statusListCredential"].startswith("https://node.uni.example/v1/status/")
        page = c.get("/v1/registry/issuers?limit=1", headers=poisoned).json()
        assert page["next"].startswith("https://node.uni.example/v1/registry/issuers?")
        r = c.post("/v1/credentials", headers={**issuer.headers, **poisoned}, json={"id": "urn:x:1"})
        assert (
            r.json()["statusUrl"].startswith("https://node.uni.example/")
            and EVIL not in r.headers["location"]
        )
        for resp in (page,):
            assert EVIL not in str(resp)
    # no public_base_url: absolute links from host:port settings, still not from the request
    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as c:
        r = c.post(
            "/v1/status/allocate", headers={**issuer.headers, "Host": EVIL}, json={"purposes": ["suspension"]}
        )
        assert r.status_code == 201, r.text
        url = r.json()["credentialStatus"][0]["statusListCredential"]
        assert EVIL not in url and url.startswith(f"http://{settings.host}:{settings.port}/")
        page = c.get("/v1/registry/issuers?limit=1", headers={"Host": EVIL}).json()
        assert page["next"].startswith("/v1/registry/issuers?") and EVIL not in page["next"]


def test_log_records_are_scrubbed_only_where_a_secret_part_occurs():
    from node.logs import redact_logs

    key = (
        "LOG-KEY-77e1b2"  # shares nothing with SECRET: another test's URL stays scrubbed in this process too
    )
    url = f"https://alice:pw9@rpc.example/v3/{key}?apikey={key}-q"
    redact_logs(url)
    logger = logging.getLogger("credreg.test.redaction")

    def record_of(msg: str, *args) -> logging.LogRecord:
        return logger.makeRecord(logger.name, logging.INFO, __file__, 1, msg, args, None)

    # an access log line: untouched, its arguments kept (uvicorn's access formatter reads them)
    access = record_of('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5555", "GET", "/v1/proofs/0xab", "1.1", 200)
    assert access.args == ("127.0.0.1:5555", "GET", "/v1/proofs/0xab", "1.1", 200)
    # each secret part alone, as HTTP libraries print them apart from the host
    for part in (f"/v3/{key}", f"apikey={key}-q", "alice:pw9"):
        scrubbed = record_of("request to %s failed", part)
        assert scrubbed.args == () and part not in scrubbed.getMessage(), scrubbed.getMessage()
    whole = record_of("calling %s", url)
    assert whole.getMessage() == "calling https://rpc.example/…"
