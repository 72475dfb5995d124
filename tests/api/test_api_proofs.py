"""Public proofs, health, readiness and metrics."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from anchoring.scheme.encoding import from_hex, to_hex
from anchoring.scheme.merkle import MerkleTree, MerkleTreeError, verify_proof
from node.pipeline import batches, sealer
from node.storage.models import Batch
from node.storage.trees import read_proof

ZERO = "0x" + "00" * 32


def _issue(client, issuer, n=3) -> list[str]:
    r = client.post(
        "/v1/credentials/bulk",
        headers=issuer.headers,
        json=[{"id": f"urn:p:{i}", "credentialSubject": {"name": "Personal Name"}} for i in range(n)],
    )
    assert r.status_code == 202
    return r.json()["digests"]


def test_pending_proof_is_200_with_state_and_no_personal_data(client, issuer):
    [d, *_] = _issue(client, issuer)
    r = client.get(f"/v1/proofs/{d}")  # no Authorization: public
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["digest"] == d and body["state"] == "pending" and body["anchor"] is None
    assert "Personal Name" not in r.text and "urn:p:" not in r.text
    # upper-case and un-prefixed digests are the same digest
    assert client.get(f"/v1/proofs/{d[2:].upper()}").json()["digest"] == d


def test_unknown_and_malformed_digests(client):
    r = client.get(f"/v1/proofs/{ZERO}")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["field"] == "path.digest"
    r = client.get("/v1/proofs/0x1234")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.digest"


def test_proof_through_the_lifecycle(client, issuer, session_factory, settings):
    digests = _issue(client, issuer, 5)
    [bid] = sealer.seal_due_batches(session_factory, settings, force=True)
    r = client.get(f"/v1/proofs/{digests[2]}")
    p = r.json()
    assert p["state"] == "batched" and p["anchor"] is None
    assert r.headers["cache-control"] == "no-cache"  # not final yet
    assert verify_proof(from_hex(p["root"]), from_hex(digests[2]), [from_hex(x) for x in p["proof"]])
    with session_factory() as s:
        batches.record_submission(
            s,
            s.get(Batch, bid),
            nonce=1,
            tx_hash="0x" + "aa" * 32,
            chain_id=31337,
            contract_address="0x5FbDB2315678afecb367f032d93F642f64180aa3",
        )
    assert client.get(f"/v1/proofs/{digests[2]}").json()["state"] == "submitted"
    with session_factory() as s:
        batches.record_confirmation(
            s,
            s.get(Batch, bid),
            block_number=9,
            block_hash="0x" + "bb" * 32,
            confirmations=2,
            block_timestamp=1_780_000_123,
            gas_used=51_800,
        )
    r = client.get(f"/v1/proofs/{digests[2]}")
    p = r.json()
    assert p["state"] == "anchored"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    a = p["anchor"]
    assert (a["chainId"], a["contract"], a["txHash"], a["blockNumber"], a["issuer"], a["anchoredAt"]) == (
        31337,
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "0x" + "aa" * 32,
        9,
        issuer.address,
        1_780_000_123,
    )
    # the DateTime column comes back through its result processor (SQLite stores text; the proof path reads it
    # on a bare DBAPI connection) and goes out as ISO 8601 milliseconds in UTC
    with session_factory() as s:
        confirmed_at = s.get(Batch, bid).confirmed_at
    assert a["confirmedAt"] == confirmed_at.isoformat(timespec="milliseconds") + "Z"
    assert (a["blockHash"], a["confirmations"]) == ("0x" + "bb" * 32, 2)


def test_health_ready_metrics(client, issuer, app):
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"]["database"]["ok"] is True
    _issue(client, issuer, 4)
    m = client.get("/metrics")
    assert m.status_code == 200
    assert "credreg_pending_credentials 4.0" in m.text
    assert 'credreg_batches{state="sealed"} 0.0' in m.text
    assert "credreg_anchor_latency_seconds_bucket" in m.text and "credreg_anchor_gas_used_total" in m.text

    def down():
        raise ConnectionError("refused")

    app.state.chain_probe = down
    r = client.get("/readyz")
    assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["checks"]["chain"]["ok"] is False and "chain" in {e["field"] for e in r.json()["errors"]}
    # credentials wait and no pipeline holds a lease: not ready, with the backlog named
    pipeline = r.json()["checks"]["pipeline"]
    assert pipeline["ok"] is False and "no pipeline holds a signer lease" in pipeline["message"]
    assert r.json()["pipeline"]["backlog"]["pending_credentials"] == 4
    app.state.chain_probe = lambda: 42
    assert client.get("/readyz").json()["checks"]["chain"] == {"ok": True, "message": "block 42"}
    # the contracts' version(), against the deployment file
    registry, anchor = "0x" + "11" * 20, "0x" + "22" * 20
    app.state.contract_probe = lambda: [
        ("IssuerRegistry", registry, "2.0.0", "2.0.0"),
        ("CredentialAnchor", anchor, "2.0.0", "2.0.0"),
    ]
    ok = client.get("/readyz").json()["checks"]["contracts"]
    assert ok["ok"] is True and ok["versions"] == {"IssuerRegistry": "2.0.0", "CredentialAnchor": "2.0.0"}
    app.state.contract_probe = lambda: [
        ("IssuerRegistry", registry, "2.0.0", "2.0.0"),
        ("CredentialAnchor", anchor, "2.0.0", "1"),
    ]
    r = client.get("/readyz")
    assert r.status_code == 503 and "contracts" in {e["field"] for e in r.json()["errors"]}
    assert f"CredentialAnchor {anchor} is 1, the deployment file says 2.0.0" in r.json()["detail"]


def test_readyz_reports_unmigrated_schema(tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from node.settings import Settings

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}", _env_file=None))
    with TestClient(app) as c:
        r = c.get("/readyz")
    assert r.status_code == 503 and "upgrade" in r.json()["detail"]
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path / 'auto.db'}", auto_migrate=True, _env_file=None)
    )
    with TestClient(app) as c:
        assert c.get("/readyz").status_code == 200


def test_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert {
        "/v1/credentials",
        "/v1/credentials/bulk",
        "/v1/proofs/{digest}",
        "/v1/credentials/{digest}/bundle",
        "/healthz",
        "/readyz",
        "/metrics",
    } <= set(spec["paths"])


def _v1_blob(blob: bytes) -> bytes:
    """The same tree in the version-1 format (no position table), as batches sealed before it was added."""
    n = int.from_bytes(blob[5:13], "big")
    order_end = 13 + 36 * n
    return b"CRMT\x01" + blob[5:order_end] + blob[order_end + 4 * n :]


def test_proofs_are_sliced_from_the_stored_blob(client, issuer, session_factory, settings):
    digests = _issue(client, issuer, 7)  # odd: an unbalanced tree
    [bid] = sealer.seal_due_batches(session_factory, settings, force=True)
    with session_factory() as s:
        batch = s.get(Batch, bid)
        assert "tree" not in batch.__dict__  # deferred: loading a batch does not move its blob
        tree = MerkleTree.from_bytes(batch.tree, verify=True)
        blob = batch.tree
    for i, d in enumerate(digests):
        p = client.get(f"/v1/proofs/{d}").json()
        assert p["leafIndex"] == i
        assert p["proof"] == [to_hex(h) for h in tree.proof_at(i)]
    # a batch sealed in the version-1 format (no position table) is still served, from the whole tree
    with session_factory() as s:
        s.execute(sa.update(Batch.__table__).where(Batch.__table__.c.id == bid).values(tree=_v1_blob(blob)))
        s.commit()
    assert client.get(f"/v1/proofs/{digests[3]}").json()["proof"] == [to_hex(h) for h in tree.proof_at(3)]


def test_a_corrupt_blob_never_gives_a_wrong_proof(client, issuer, session_factory, settings):
    digests = _issue(client, issuer, 4)
    [bid] = sealer.seal_due_batches(session_factory, settings, force=True)
    with session_factory() as s:
        batch = s.get(Batch, bid)
        blob = bytearray(batch.tree)
        blob[-1] ^= 1  # a leaf node (leaves sit at the end of the node array)
        s.execute(sa.update(Batch.__table__).where(Batch.__table__.c.id == bid).values(tree=bytes(blob)))
        s.commit()
    with session_factory() as s:
        batch = s.get(Batch, bid)
        failed = 0
        for i, d in enumerate(digests):
            try:
                proof = read_proof(
                    s.connection(), batch_id=bid, size=batch.size, root=batch.root, leaf_index=i, digest=d
                )
            except MerkleTreeError:
                failed += 1
            else:
                assert verify_proof(from_hex(batch.root), from_hex(d), proof)
        assert failed == 1  # the one proof holding the flipped node (its own leaf is hashed from the digest)
        with pytest.raises(MerkleTreeError):
            read_proof(
                s.connection(),
                batch_id=bid,
                size=batch.size,
                root=batch.root,
                leaf_index=99,
                digest=digests[0],
            )


def test_the_sqlite_proof_query_reads_no_batch_row(session_factory):
    """SQLite stores the tree blob before the anchor's columns in the batch row: reading them from the row walks the
    blob's overflow pages. The proof query takes them from ix_batch_proof, and needs nothing else of the row."""
    from node.reads.proofs import _sqlite_statement

    with session_factory() as s:
        if s.connection().dialect.name != "sqlite":
            pytest.skip("a plan of SQLite's")
        sql, _ = _sqlite_statement()
        plan = " | ".join(
            str(r[-1]) for r in s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, (ZERO,))
        )
    assert "SEARCH batch USING COVERING INDEX ix_batch_proof (id=?)" in plan, plan


def test_proofs_on_sqlite_keep_one_connection_that_sees_every_commit(
    client, app, issuer, session_factory, settings
):
    [d] = _issue(client, issuer, 1)
    assert client.get(f"/v1/proofs/{d}").json()["state"] == "pending"
    reader = app.state.proof_reader
    engine = app.state.engine
    if reader.local:
        kept = reader._raw
        assert kept is not None and engine.pool.checkedout() == 0  # detached: it holds no slot of the pool
    sealer.seal_due_batches(session_factory, settings, force=True)  # committed on another connection
    sealed = client.get(f"/v1/proofs/{d}").json()
    assert sealed["state"] == "batched" and sealed["leafIndex"] == 0, sealed
    if not reader.local:
        return
    assert reader._raw is kept  # the same connection, in autocommit: each proof sees the newest commit
    kept.close()  # a connection that broke under the reader: the next proof opens another, no error
    again = client.get(f"/v1/proofs/{d}")
    assert again.status_code == 200 and again.json() == sealed
    assert reader._raw is not None and reader._raw is not kept
    reader.close()
    assert reader._raw is None and client.get(f"/v1/proofs/{d}").json() == sealed
