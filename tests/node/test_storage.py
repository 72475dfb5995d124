"""Storage layer on SQLite and PostgreSQL: migrations, issuance atomicity/idempotency, tokens, batch states."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from anchoring.bundle import load as load_bundle
from anchoring.chain.deployment import ContractSet, Deployment
from anchoring.scheme.digest import hash_credential
from anchoring.scheme.encoding import from_hex
from anchoring.scheme.merkle import verify_proof
from node.auth.tokens import authenticate, create_token, revoke_token
from node.errors import Conflict, Invalid
from node.issuance.accept import issue_many, issue_one
from node.pipeline import batches, sealer
from node.reads import bundles, proofs
from node.storage.db import current_revision, head_revision, make_engine, upgrade
from node.storage.models import Batch, BatchState, Credential
from tests.helpers.db import count_rows

CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def cred(i: int, **extra) -> dict:
    return {"id": f"urn:test:{i}", "type": ["VerifiableCredential"], "credentialSubject": {"n": i}, **extra}


def test_upgrade_from_empty_creates_schema_and_is_repeatable(db_url):
    eng = make_engine(db_url)
    try:
        assert current_revision(eng) is None
        assert "credential" not in sa.inspect(eng).get_table_names()
        upgrade(eng)
        assert current_revision(eng) == head_revision() is not None
        tables = set(sa.inspect(eng).get_table_names())
        assert {"issuer", "api_token", "credential", "batch", "alembic_version"} <= tables
        upgrade(eng)  # no-op the second time
        assert current_revision(eng) == head_revision()
        uniques = {tuple(u["column_names"]) for u in sa.inspect(eng).get_unique_constraints("credential")}
        assert ("issuer_id", "external_id") in uniques and ("issuer_id", "idempotency_key") in uniques
        with eng.connect() as c:  # the migration left fresh planner statistics behind (this schema's tables)
            if eng.dialect.name == "postgresql":
                reltuples = c.execute(
                    sa.text(
                        "SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE c.relname = 'credential' AND n.nspname = current_schema()"
                    )
                ).scalar_one()
                assert reltuples == 0  # -1: never analyzed
                storage = c.execute(
                    sa.text(
                        "SELECT a.attstorage FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = 'batch' "
                        "AND n.nspname = current_schema() AND a.attname = 'tree'"
                    )
                ).scalar_one()
                assert storage == "e"  # EXTERNAL: uncompressed, so proof slices read only their chunks
            else:
                assert c.exec_driver_sql("SELECT count(*) FROM sqlite_stat1").scalar() is not None
    finally:
        eng.dispose()


def test_issue_stores_pending_with_verifiable_digest(session_factory, issuer, engine):
    c = cred(1)
    with session_factory() as s:
        res = issue_one(s, issuer.id, c, max_bytes=10_000)
    assert res.created and res.status == "pending"
    with session_factory() as s:
        row = s.exec(sa.select(Credential).where(Credential.digest == res.digest)).scalar_one()
        assert row.status == "pending" and row.external_id == "urn:test:1" and row.batch_id is None
        assert hash_credential(json.loads(row.canonical), bytes(row.salt)).digest == from_hex(res.digest)
    assert count_rows(engine, "credential") == 1


def test_bulk_is_all_or_nothing(session_factory, issuer, engine):
    items = [cred(i) for i in range(50)]
    items[37] = {"id": "urn:test:37", "score": float("nan")}
    with session_factory() as s, pytest.raises(Invalid) as ei:
        issue_many(s, issuer.id, items, max_bytes=10_000)
    assert ei.value.slug == "invalid-credential"
    assert ei.value.errors[0]["index"] == 37 and ei.value.errors[0]["field"] == "[37].score"
    assert count_rows(engine, "credential") == 0


def test_idempotency_by_id_and_key(session_factory, issuer, engine):
    with session_factory() as s:
        a = issue_one(s, issuer.id, cred(1), max_bytes=10_000)
        b = issue_one(s, issuer.id, cred(1), max_bytes=10_000)
        assert (b.digest, b.created) == (a.digest, False)
        k1 = issue_one(s, issuer.id, {"x": 1}, max_bytes=10_000, idempotency_key="k-1")
        k2 = issue_one(s, issuer.id, {"x": 1}, max_bytes=10_000, idempotency_key="k-1")
        assert (k2.digest, k2.created) == (k1.digest, False)
        with pytest.raises(Conflict) as ei:
            issue_one(s, issuer.id, {"x": 2}, max_bytes=10_000, idempotency_key="k-1")
        assert ei.value.errors[0]["field"] == "header.Idempotency-Key"
        with pytest.raises(Conflict) as ei:
            issue_one(s, issuer.id, cred(1, extra=True), max_bytes=10_000)
        assert ei.value.errors[0]["field"] == "id"
    assert count_rows(engine, "credential") == 2


def test_same_id_from_another_issuer_is_a_new_credential(session_factory, issuer, engine):
    from tests.helpers.db import make_issuer

    other = make_issuer(session_factory, "Other Uni", "0x" + "22" * 20)
    with session_factory() as s:
        a = issue_one(s, issuer.id, cred(1), max_bytes=10_000)
        b = issue_one(s, other.id, cred(1), max_bytes=10_000)
    assert a.digest != b.digest and b.created
    assert count_rows(engine, "credential") == 2


def test_tokens_hash_only_and_revocation(session_factory, issuer, engine):
    with session_factory() as s:
        assert authenticate(s, issuer.token) is not None
        assert authenticate(s, issuer.token + "x") is None
        stored = [r[0] for r in s.execute(sa.text("SELECT token_hash FROM api_token"))]
        assert issuer.token not in stored and all(len(h) == 64 for h in stored)
        tok, _ = authenticate(s, issuer.token)
        revoke_token(s, tok.id)
        s.commit()
        assert authenticate(s, issuer.token) is None
        new = create_token(s, issuer.id, "reader")
        s.commit()
        assert authenticate(s, new.token)[0].role == "reader"


def _seal_all(session_factory, settings) -> list[int]:
    return sealer.seal_due_batches(session_factory, settings, force=True)


def test_batch_state_machine_and_bundle(session_factory, issuer, settings, engine):
    deployment = lambda: Deployment(31337, "0x" + "77" * 20, CONTRACT, 1)  # noqa: E731 - the loader bundle_for takes
    with session_factory() as s:
        results = issue_many(s, issuer.id, [cred(i) for i in range(5)], max_bytes=10_000)
    [bid] = _seal_all(session_factory, settings)
    with session_factory() as s:
        b = batches.next_sealed_batch(s, issuer.id)
        assert b.id == bid and b.state == "sealed" and b.size == 5
        with pytest.raises(batches.InvalidTransition):
            batches.record_confirmation(s, b, block_number=1, block_hash="0x" + "00" * 32, confirmations=1)
        s.rollback()
        b = s.get(Batch, bid)
        batches.record_submission(
            s, b, nonce=7, tx_hash="0x" + "AB" * 32, chain_id=31337, contract_address=CONTRACT.lower()
        )
    with session_factory() as s:
        b = s.get(Batch, bid)
        assert (b.state, b.nonce, b.tx_hash, b.attempts) == ("submitted", 7, "0x" + "ab" * 32, 1)
        assert b.contract_address == CONTRACT
        assert batches.next_sealed_batch(s, issuer.id) is None
        assert [x.id for x in batches.submitted_batches(s)] == [bid]
        # dropped -> sealed -> re-submitted
        batches.record_dropped(s, b, "tx not found")
        assert s.get(Batch, bid).state == "sealed"
        batches.record_submission(s, s.get(Batch, bid), nonce=8, tx_hash="0x" + "cd" * 32)
        with pytest.raises(Conflict) as ei:
            bundles.bundle_for(s, results[0].digest, issuer.id, deployment)
        assert ei.value.slug == "not-anchored"
        b = s.get(Batch, bid)
        batches.record_confirmation(
            s,
            b,
            block_number=12,
            block_hash="0x" + "EF" * 32,
            confirmations=1,
            block_timestamp=1_780_000_000,
            gas_used=51_000,
        )
    with session_factory() as s:
        rows = s.exec(sa.select(Credential.status, Credential.anchored_at)).all()
        assert all(st == "anchored" and at is not None for st, at in rows)
        p = proofs.proof_for(s.connection(), results[3].digest)
        assert p.state == "anchored" and p.anchor.tx_hash == "0x" + "cd" * 32
        assert p.anchor.block_number == 12 and p.anchor.issuer == issuer.address
        assert verify_proof(from_hex(p.root), from_hex(p.digest), [from_hex(x) for x in p.proof])
        doc = bundles.bundle_for(s, results[3].digest, issuer.id, deployment)
        pb = load_bundle(doc, check_integrity=True)
        assert doc["format"] == "credreg-bundle/2" and doc["digestRule"] == "salted-jcs"
        assert pb.inclusions[0].chain_id == 31337 and pb.inclusions[0].anchored_at == 1_780_000_000
        # under a version-1 contract (a deployment's previous set) the bundle keeps format 1
        legacy = Deployment(
            31337,
            "0x" + "77" * 20,
            "0x" + "66" * 20,
            1,
            previous=(ContractSet("1", "0x" + "55" * 20, CONTRACT, 0),),
        )
        assert (
            bundles.bundle_for(s, results[3].digest, issuer.id, lambda: legacy)["format"]
            == "credreg-bundle/1"
        )
        assert pb.credential == cred(3)
        # re-org: back to submitted, credentials back to batched
        batches.record_reorg(s, s.get(Batch, bid), "block hash changed")
        assert s.get(Batch, bid).state == "submitted"
        assert {r[0] for r in s.exec(sa.select(Credential.status)).all()} == {"batched"}
        batches.record_failure(s, s.get(Batch, bid), "gave up", final=True)
        assert s.get(Batch, bid).state == BatchState.failed.value


def test_batch_steps_start_only_where_the_table_says(session_factory, issuer, settings):
    with session_factory() as s:
        issue_many(s, issuer.id, [cred(i) for i in range(2)], max_bytes=10_000)
    [bid] = _seal_all(session_factory, settings)
    h = "0x" + "ab" * 32
    with session_factory() as s:
        b = s.get(Batch, bid)
        with pytest.raises(
            batches.InvalidTransition, match=r"batch .*: sealed -> sealed .*starts from submitted"
        ):
            batches.record_dropped(s, b, "nothing was sent")
        with pytest.raises(batches.InvalidTransition, match=r"sealed -> submitted .*starts from confirmed"):
            batches.record_reorg(s, b, "nothing was confirmed")
        with pytest.raises(batches.InvalidTransition, match="starts from submitted"):
            batches.record_confirmations(s, b, confirmations=1)
        batches.record_failure(s, b, "estimate reverted")  # a note: sealed stays sealed
        assert (b.state, b.last_error) == ("sealed", "estimate reverted")
        batches.record_submission(s, b, nonce=1, tx_hash=h)
        batches.record_confirmation(s, b, block_number=3, block_hash=h, confirmations=1)
        with pytest.raises(batches.InvalidTransition, match=r"confirmed -> submitted .*starts from"):
            batches.record_submission(s, b, nonce=2, tx_hash=h)  # a re-submission is not a re-org
        with pytest.raises(batches.InvalidTransition, match="confirmed -> confirmed"):
            batches.record_failure(s, b, "late note")
        batches.record_reorg(s, b, "block gone")
        batches.record_failure(s, b, "gave up", final=True)
        with pytest.raises(batches.InvalidTransition, match="failed -> submitted"):
            batches.record_submission(s, b, nonce=3, tx_hash=h)
        assert s.get(Batch, bid).state == "failed"


def test_models_match_the_migrations(db_url):
    """The tables the code declares are exactly what the alembic migrations build, on either database."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    eng = make_engine(db_url)
    try:
        upgrade(eng)
        with eng.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata
            )
        assert diff == []
    finally:
        eng.dispose()


def test_0004_moves_a_publication_in_flight_into_its_own_row_and_back(db_url):
    eng = make_engine(db_url)
    tx = "0x" + "aa" * 32
    try:
        upgrade(eng, "0003_revocation")
        with eng.begin() as c:
            c.execute(
                sa.text(
                    "INSERT INTO issuer (id, name, address, created_at) "
                    "VALUES (1, 'U', '0x" + "11" * 20 + "', '2026-01-01')"
                )
            )
            for pk, purpose, state in ((1, "revocation", "submitted"), (2, "suspension", None)):
                c.execute(
                    sa.text(
                        "INSERT INTO status_list (id, issuer_id, purpose, url, size, allocated, revision, enabled,"
                        " published_revision, publish_state, publish_revision, publish_hash, publish_nonce,"
                        " publish_tx_hash, publish_submitted_at, created_at, updated_at) VALUES (:pk, 1, :purpose,"
                        " :url, 131072, 0, 3, true, 2, :state, 3, :h, 9, :tx, '2026-01-02', '2026-01-01', '2026-01-03')"
                    ),
                    {
                        "pk": pk,
                        "purpose": purpose,
                        "url": f"https://n.example/{purpose}",
                        "state": state,
                        "h": "0x" + "bb" * 32,
                        "tx": tx,
                    },
                )
        upgrade(eng)
        with eng.connect() as c:
            pubs = c.execute(
                sa.text(
                    "SELECT list_id, revision, list_hash, state, nonce, tx_hash, confirmations,"
                    " submitted_at FROM status_list_publication"
                )
            ).all()
            columns = {col["name"] for col in sa.inspect(c).get_columns("status_list")}
        assert [tuple(p[:7]) for p in pubs] == [(1, 3, "0x" + "bb" * 32, "submitted", 9, tx, 0)]
        assert pubs[0].submitted_at is not None
        assert "published_revision" in columns and not {c for c in columns if c.startswith("publish_")}
        upgrade_down(eng, "0003_revocation")
        with eng.connect() as c:
            back = c.execute(
                sa.text(
                    "SELECT id, publish_state, publish_revision, publish_nonce, publish_tx_hash"
                    " FROM status_list ORDER BY id"
                )
            ).all()
            assert "status_list_publication" not in sa.inspect(c).get_table_names()
        assert [tuple(r) for r in back] == [(1, "submitted", 3, 9, tx), (2, None, None, None, None)]
        upgrade(eng)
        assert current_revision(eng) == head_revision()
    finally:
        eng.dispose()


def upgrade_down(engine, revision: str) -> None:
    from alembic import command

    from node.storage.db import _alembic_config

    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), revision)


def test_concurrent_duplicate_requests_store_one_row(session_factory, issuer, engine):
    import threading

    results, errors = [], []
    items = [cred(i) for i in range(200)]

    def worker(key):
        try:
            with session_factory() as s:
                results.append(
                    [r.digest for r in issue_many(s, issuer.id, items, max_bytes=10_000, idempotency_key=key)]
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in ("k1", "k1", "k2", None)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len(results) == 4 and all(r == results[0] for r in results)
    assert count_rows(engine, "credential") == 200


def test_statistics_are_refreshed_as_the_credential_table_grows(engine, issuer):
    """The node analyzes a growing table itself once it holds its minimum of rows and twice the rows of its last
    ANALYZE, whether or not the server's autovacuum is on: the server's own counters decide, and a call right after
    finds nothing to do. SQLite: nothing to refresh."""
    import time
    from datetime import datetime

    from node.storage.bulk import insert_rows
    from node.storage.db import GROWING_TABLES, refresh_statistics

    with engine.begin() as conn:
        assert refresh_statistics(conn) == []  # just migrated and analyzed
    rows = GROWING_TABLES["credential"] + 2_000
    now = datetime(2026, 12, 4)
    with engine.begin() as conn:
        insert_rows(
            conn,
            Credential.__table__,
            [
                {
                    "digest": "0x" + f"{i:064x}",
                    "salt": b"s",
                    "canonical": b"{}",
                    "issuer_id": issuer.id,
                    "external_id": f"urn:x:{i}",
                    "status": "pending",
                    "created_at": now,
                }
                for i in range(rows)
            ],
        )
        if engine.dialect.name == "postgresql":  # the counters, at once rather than in 1-10 s
            conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            assert refresh_statistics(conn) == []
        return
    changed = sa.text(
        "SELECT n_live_tup FROM pg_stat_user_tables"
        " WHERE schemaname = current_schema() AND relname = 'credential'"
    )
    deadline = time.monotonic() + 15
    while True:  # another backend's counters reach the shared statistics asynchronously
        with engine.connect() as conn:
            if conn.execute(changed).scalar() >= rows or time.monotonic() > deadline:
                break
        time.sleep(0.1)
    with engine.begin() as conn:
        assert refresh_statistics(conn) == ["credential"]
        tuples = conn.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE oid = 'credential'::regclass"
        ).scalar()
    assert tuples == rows
    with engine.begin() as conn:
        assert refresh_statistics(conn) == []
