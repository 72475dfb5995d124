"""The public registry API over an index built from the dev Anvil network (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from eth_account import Account
from fastapi.testclient import TestClient

from anchoring.scheme.keccak import keccak256
from node.registry.accreditation import document_hash, load_document, store_document
from node.registry.index import EXPORT_COLUMNS
from node.registry.indexer import Indexer
from tests.helpers.chain import send
from tests.helpers.problems import assert_problem
from tests.helpers.registry import SCOPE, lifecycle


@pytest.fixture()
def indexed(session_factory, dev_network):
    w3 = dev_network.chain.web3()
    life = lifecycle(w3, dev_network)
    idx = Indexer(session_factory, w3, dev_network.deployment, confirmations=1)
    idx.run_once()
    return life, idx


@pytest.fixture()
def api(settings, engine, dev_network, tmp_path):
    from api.app import create_app

    deployment_file = tmp_path / "deployment.json"
    dev_network.deployment.save(deployment_file)
    s = settings.model_copy(update={"rpc_url": dev_network.chain.rpc_url, "deployment_file": deployment_file})
    with TestClient(create_app(s, engine=engine), raise_server_exceptions=False) as c:
        yield c


def test_list_filters_and_pagination(api, indexed, dev_network):
    life, _ = indexed
    r = api.get("/v1/registry/issuers")
    assert r.status_code == 200
    body = r.json()
    assert body["total"] >= 4 and body["index"]["lastBlock"] > 0
    addresses = [i["address"] for i in body["items"]]
    assert dev_network.root_tao.address in addresses

    r = api.get("/v1/registry/issuers", params={"kind": "ti", "status": "revoked"})
    items = r.json()["items"]
    assert life["address"] in [i["address"] for i in items] and all(i["status"] == "revoked" for i in items)
    r = api.get("/v1/registry/issuers", params={"accreditor": dev_network.tao.address.lower()})
    assert all(i["accreditor"] == dev_network.tao.address for i in r.json()["items"])
    r = api.get("/v1/registry/issuers", params={"country": "nl"})
    assert life["address"] in [i["address"] for i in r.json()["items"]]
    assert all(i["country"] == "NL" for i in r.json()["items"])

    page = api.get("/v1/registry/issuers", params={"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next"]
    nxt = api.get(page["next"]).json()
    assert nxt["offset"] == 1 and nxt["items"][0]["address"] != page["items"][0]["address"]

    assert_problem(api.get("/v1/registry/issuers", params={"kind": "university"}), 422, "query.kind")
    assert_problem(api.get("/v1/registry/issuers", params={"status": "zombie"}), 422, "query.status")
    assert_problem(api.get("/v1/registry/issuers", params={"limit": 0}), 422, "query.limit")
    assert_problem(api.get("/v1/registry/issuers", params={"offset": -1}), 422, "query.offset")
    assert_problem(api.get("/v1/registry/issuers", params={"accreditor": "0x12"}), 422, "query.accreditor")


def test_issuer_chain_history_and_status(api, indexed, dev_network):
    life, _ = indexed
    ti = life["address"]
    r = api.get(f"/v1/registry/issuers/{ti.lower()}")
    assert r.status_code == 200, r.text
    e = r.json()
    assert e["address"] == ti and e["kind"] == "ti" and e["status"] == "revoked"
    assert [c["address"] for c in e["accreditationChain"]] == [
        dev_network.tao.address,
        dev_network.root_tao.address,
    ]
    assert e["accreditationChain"][-1]["kind"] == "root-tao"
    assert e["scopeJson"]["eqfLevels"] == [6]
    assert e["document"]["result"] == "missing"

    h = api.get(f"/v1/registry/issuers/{ti}/history").json()["items"]
    assert [x["action"] for x in h] == ["accredited", "suspended", "reinstated", "revoked"]
    assert all(
        x["by"] == dev_network.tao.address and x["tx"].startswith("0x") and x["time"].endswith("Z") for x in h
    )
    assert h[1]["block"] == life["suspend"][1]
    assert [x["reason"] for x in h] == [None, "suspend", "reinstate", "revoke"]
    assert h[1]["reasonHash"] == "0x" + keccak256(b"suspend").hex()

    def status(**params):
        r = api.get(f"/v1/registry/issuers/{ti}/status", params=params)
        assert r.status_code == 200, r.text
        return r.json()

    t_susp = life["suspend"][0]
    assert status(at=str(life["accredited"][0] - 1))["status"] == "none"
    assert status(at=str(t_susp + 1))["status"] == "suspended"
    iso = datetime.fromtimestamp(life["reinstate"][0] + 1, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    got = status(at=iso)
    assert got["status"] == "active" and got["activeTI"] is True and got["setBy"]["action"] == "reinstated"
    assert status()["status"] == "revoked"  # now
    assert status(block=life["suspend"][1])["status"] == "suspended"
    assert status(block=life["reinstate"][1] - 1)["status"] == "suspended"
    # cross-checked on chain
    checked = status(at=str(t_susp + 1), verify="true")
    assert checked["chain"]["result"] == "pass" and checked["chain"]["status"] == "suspended"
    assert status(block=life["revoke"][1], verify="true")["chain"]["result"] == "pass"

    assert_problem(api.get(f"/v1/registry/issuers/{ti}/status", params={"at": "yesterday"}), 422, "query.at")
    assert_problem(
        api.get(f"/v1/registry/issuers/{ti}/status", params={"at": "1", "block": 1}), 422, "query.at"
    )
    assert_problem(api.get(f"/v1/registry/issuers/{ti}/status", params={"block": -1}), 422, "query.block")
    assert_problem(api.get("/v1/registry/issuers/0xnope"), 422, "path.address")
    assert_problem(api.get(f"/v1/registry/issuers/{Account.create().address}"), 404, "path.address")
    assert_problem(api.get(f"/v1/registry/issuers/{Account.create().address}/history"), 404)


def test_anchors_of_an_issuer(api, session_factory, dev_network):
    w3 = dev_network.chain.web3()
    anchor = dev_network.anchor(w3)
    roots = [keccak256(Account.create().address.encode() + bytes([i])) for i in range(3)]
    for i, root in enumerate(roots):
        send(w3, dev_network.issuer, anchor.anchor(root, 10 + i))
    Indexer(session_factory, w3, dev_network.deployment, confirmations=1).run_once()
    body = api.get(f"/v1/registry/issuers/{dev_network.issuer.address}/anchors", params={"limit": 500}).json()
    mine = [a for a in body["items"] if a["root"] in {"0x" + r.hex() for r in roots}]
    assert [a["leafCount"] for a in mine] == [10, 11, 12]
    assert body["count"] >= 3 and body["leaves"] >= 33
    assert body["last"]["root"] == "0x" + roots[-1].hex()
    assert body["first"]["block"] <= mine[0]["block"]
    empty = api.get(f"/v1/registry/issuers/{Account.create().address}/anchors").json()
    assert empty["count"] == 0 and empty["first"] is None


def test_document_served_and_checked_against_the_chain(api, session_factory, dev_network):
    w3 = dev_network.chain.web3()
    ti = Account.create().address
    text = json.dumps(
        {"subject": {"address": ti, "kind": "ti"}, "scope": json.loads(SCOPE), "policy": "p"}, indent=1
    )
    h = document_hash(load_document(text))
    send(w3, dev_network.tao, dev_network.registry(w3).accredit(ti, 3, "did:example:doc", h, SCOPE))
    Indexer(session_factory, w3, dev_network.deployment, confirmations=1).run_once()
    assert_problem(api.get(f"/v1/registry/issuers/{ti}/document"), 404)
    with session_factory() as s:
        store_document(s, ti, text)
        s.commit()
    r = api.get(f"/v1/registry/issuers/{ti}/document")
    assert r.status_code == 200 and r.text == text  # byte for byte as stored
    assert r.headers["x-credreg-document-check"] == "pass"
    assert r.headers["x-credreg-onchain-hash"] == "0x" + h.hex()
    assert api.get(f"/v1/registry/issuers/{ti}").json()["document"]["result"] == "pass"
    # tamper with the stored document: the check reports the mismatch
    from node.storage.registry_tables import AccreditationDocument

    with session_factory() as s:
        row = (
            s.execute(sa.select(AccreditationDocument).where(AccreditationDocument.address == ti))
            .scalars()
            .one()
        )
        row.document = text.replace('"p"', '"changed"')
        s.commit()
    doc = api.get(f"/v1/registry/issuers/{ti}").json()["document"]
    assert doc["result"] == "fail" and "chain records" in doc["reason"]


def test_exports(api, indexed):
    life, _ = indexed
    r = api.get("/v1/registry/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0].keys()) == EXPORT_COLUMNS
    mine = [row for row in rows if row["address"] == life["address"]]
    assert [row["action"] for row in mine] == ["accredited", "suspended", "reinstated", "revoked"]
    assert all(row["current_status"] == "revoked" and row["kind"] == "ti" for row in mine)
    assert int(mine[1]["block_number"]) == life["suspend"][1] and mine[1]["tx_hash"].startswith("0x")
    assert [row["reason"] for row in mine] == ["", "suspend", "reinstate", "revoke"]
    data = api.get("/v1/registry/export.json").json()
    assert data["format"] == "credreg-registry-export/1"
    entry = next(i for i in data["issuers"] if i["address"] == life["address"])
    assert [x["status"] for x in entry["history"]] == ["active", "suspended", "active", "revoked"]
    assert [x["reason"] for x in entry["history"]] == [None, "suspend", "reinstate", "revoke"]


def test_tree(api, indexed, dev_network):
    roots = api.get("/v1/registry/tree").json()["roots"]
    root = next(r for r in roots if r["address"] == dev_network.root_tao.address)
    tao = next(c for c in root["children"] if c["address"] == dev_network.tao.address)
    assert dev_network.issuer.address in [c["address"] for c in tao["children"]]
