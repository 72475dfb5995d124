"""Sealing batches by size and by age, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa

from anchoring.scheme.encoding import from_hex
from anchoring.scheme.merkle import MerkleTree, verify_proof
from node.issuance.accept import issue_many
from node.pipeline import sealer
from node.reads.proofs import proof_for
from node.storage.models import Batch, Credential, utcnow
from tests.helpers.db import make_issuer


def _issue(session_factory, issuer_id: int, n: int, start: int = 0) -> list[str]:
    with session_factory() as s:
        res = issue_many(
            s,
            issuer_id,
            [{"id": f"urn:c:{issuer_id}:{i}", "n": i} for i in range(start, start + n)],
            max_bytes=10_000,
        )
    return [r.digest for r in res]


def _settings(settings, size: int, age: float):
    return settings.model_copy(update={"batch_max_size": size, "batch_max_age_seconds": age})


def test_seals_by_size_and_leaves_the_young_remainder(session_factory, issuer, settings):
    digests = _issue(session_factory, issuer.id, 25)
    cfg = _settings(settings, 10, 3600)
    ids = sealer.seal_due_batches(session_factory, cfg)
    assert len(ids) == 2  # 10 + 10; the 5 left are younger than an hour
    with session_factory() as s:
        batches = [s.get(Batch, i) for i in ids]
        assert [b.size for b in batches] == [10, 10] and all(b.state == "sealed" for b in batches)
        rows = s.exec(sa.select(Credential).order_by(Credential.id)).scalars().all()
        assert [r.status for r in rows] == ["batched"] * 20 + ["pending"] * 5
        # oldest first, leaf_index = position in the tree's input order, tree proves every one
        for b in batches:
            members = [r for r in rows if r.batch_id == b.id]
            assert sorted(r.leaf_index for r in members) == list(range(10))
            tree = MerkleTree.from_bytes(b.tree, verify=True)
            assert "0x" + tree.root.hex() == b.root
            for r in members:
                assert tree.digests[r.leaf_index] == from_hex(r.digest)
                p = proof_for(s.connection(), r.digest)
                assert p.state == "batched" and p.root == b.root
                assert verify_proof(from_hex(b.root), from_hex(r.digest), [from_hex(x) for x in p.proof])
    assert sealer.seal_due_batches(session_factory, cfg) == []
    assert len(digests) == 25


def test_seals_by_age(session_factory, issuer, settings):
    _issue(session_factory, issuer.id, 3)
    cfg = _settings(settings, 1000, 60)
    assert sealer.seal_due_batches(session_factory, cfg) == []  # young and few: nothing
    ids = sealer.seal_due_batches(session_factory, cfg, now=utcnow() + timedelta(seconds=61))
    assert len(ids) == 1
    with session_factory() as s:
        assert s.get(Batch, ids[0]).size == 3
        assert s.execute(sa.select(sa.func.count()).where(Credential.status == "pending")).scalar() == 0


def test_batches_are_per_issuer(session_factory, issuer, settings):
    other = make_issuer(session_factory, "Other Uni", "0x" + "22" * 20)
    _issue(session_factory, issuer.id, 4)
    _issue(session_factory, other.id, 6)
    ids = sealer.seal_due_batches(session_factory, _settings(settings, 5, 3600))
    assert len(ids) == 1  # only "other" reached the size limit
    with session_factory() as s:
        b = s.get(Batch, ids[0])
        assert (b.issuer_id, b.size) == (other.id, 5)
    ids = sealer.seal_due_batches(session_factory, _settings(settings, 5, 0))
    with session_factory() as s:
        assert sorted((s.get(Batch, i).issuer_id, s.get(Batch, i).size) for i in ids) == sorted(
            [(issuer.id, 4), (other.id, 1)]
        )


def test_an_issuer_is_due_at_exactly_a_full_queue_or_an_old_enough_credential(session_factory, issuer):
    """The bounded due checks (no count of the queue) decide at the edges exactly as a count would: a queue one
    short of the batch size is not due until its oldest credential is old enough; a full one is; an issuer with
    nothing pending, or everything batched, never is."""
    other = make_issuer(session_factory, "Other Uni", "0x" + "22" * 20)
    idle = make_issuer(session_factory, "Idle Uni", "0x" + "33" * 20)
    _issue(session_factory, issuer.id, 4)
    _issue(session_factory, other.id, 5)
    now = utcnow()
    later = now + timedelta(seconds=61)
    with session_factory() as s:
        assert sealer.due_issuers(s, 5, 60, now) == [other.id]
        assert sealer.due_issuers(s, 5, 60, later) == [issuer.id, other.id]
        assert sealer.due_issuers(s, 6, 60, now) == []
        assert sealer.due_issuers(s, 4, 60, now) == [issuer.id, other.id]
        cutoff = now - timedelta(seconds=60)
        assert [sealer._issuer_due(s, i, 5, cutoff) for i in (issuer.id, other.id, idle.id)] == [
            False,
            True,
            False,
        ]
        assert sealer._issuer_due(s, issuer.id, 5, later)  # old enough
        assert not sealer._issuer_due(s, idle.id, 5, later)  # nothing pending, however late
    with session_factory() as s:
        assert sealer.seal_batch(s, other.id, 5) is not None
        s.commit()
    with session_factory() as s:
        assert sealer.due_issuers(s, 5, 60, later) == [issuer.id]  # other's credentials are all batched now


def test_concurrent_sealers_never_share_a_credential(session_factory, issuer, settings):
    _issue(session_factory, issuer.id, 400)
    cfg = _settings(settings, 7, 0)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def worker():
        try:
            results.append(sealer.seal_due_batches(session_factory, cfg))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    all_ids = [i for r in results for i in r]
    assert len(all_ids) == len(set(all_ids))
    with session_factory() as s:
        assert s.execute(sa.select(sa.func.count()).where(Credential.status == "pending")).scalar() == 0
        sizes = s.execute(sa.select(sa.func.sum(Batch.size))).scalar()
        assert sizes == 400
        per_batch = dict(
            s.execute(sa.select(Credential.batch_id, sa.func.count()).group_by(Credential.batch_id)).all()
        )
        assert all(per_batch[b.id] == b.size for b in s.exec(sa.select(Batch)).scalars())


def test_pending_lookups_use_the_partial_pending_indexes(session_factory, engine, issuer, settings):
    """Sealing and the pending counts read only the partial indexes on unbatched credentials (migrations 0013,
    0014): each SELECT they send is explained on the real database and its plan must name one. A query stating
    its condition as a bound parameter fails this on SQLite (and on PostgreSQL's generic plans, forced here)."""
    from node.reads.counts import pending_count
    from node.storage.db import analyze

    _issue(session_factory, issuer.id, 2_950)
    sealer.seal_due_batches(session_factory, _settings(settings, 100, 3600))  # 29 batches, 50 left pending
    with engine.begin() as conn:
        analyze(conn)

    sent: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        if (
            statement.lstrip().upper().startswith("SELECT")
            and "credential" in statement
            and "batch_id IS NULL" in statement
        ):
            sent.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert sealer.seal_due_batches(session_factory, _settings(settings, 10, 3600))  # picks 5 x 10
        with session_factory() as s:
            assert pending_count(s) == 0 and pending_count(s, issuer.id) == 0
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)

    # due issuers, the issuer's queue, the pick, the counts
    assert len({statement for statement, _ in sent}) >= 3
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        if postgres:
            conn.exec_driver_sql("SET enable_seqscan = off")
            conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
        for statement, parameters in sent:
            explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            plan = "\n".join(str(row[-1]) for row in conn.exec_driver_sql(explain + statement, parameters))
            assert "ix_credential_unbatched_issuer" in plan, f"{statement}\n{plan}"


def test_anchoring_a_batch_is_a_hot_update_on_postgresql():
    """PostgreSQL writes most anchored status updates as HOT updates (migration 0014): no indexed column or index
    predicate changes, and the table's fill factor leaves room on the page. Counted by the server itself, in the
    confirming transaction (pg_stat_xact_user_tables). Before 0014 none was HOT."""
    from node.pipeline import batches
    from node.storage.db import make_engine, upgrade
    from node.storage.db import session_factory as make_factory
    from tests.helpers.db import empty_postgres_schema

    n = 300
    with empty_postgres_schema() as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            factory = make_factory(engine)
            with engine.connect() as conn:
                options = conn.exec_driver_sql(
                    "SELECT reloptions FROM pg_class WHERE oid = 'credential'::regclass"
                ).scalar()
            assert "fillfactor=50" in options
            issuer = make_issuer(factory)
            _issue(factory, issuer.id, n)
            with factory() as s:
                b = sealer.seal_batch(s, issuer.id, n)
                assert b is not None and b.size == n
                bid = b.id
                batches.record_submission(s, b, nonce=1, tx_hash="0x" + "ab" * 32)
            counts = sa.text(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables"
                " WHERE relname = 'credential' AND schemaname = current_schema()"
            )
            with factory() as s:
                # the backend's counts not yet flushed include earlier transactions (PostgreSQL 15): take the delta
                before = s.execute(counts).one()
                batches.record_confirmation(
                    s,
                    s.get(Batch, bid),
                    block_number=1,
                    block_hash="0x" + "cd" * 32,
                    confirmations=1,
                    commit=False,
                )
                after = s.execute(counts).one()
                s.commit()
            updated, hot = after[0] - before[0], after[1] - before[1]
            assert updated == n, (updated, hot)
            assert hot >= n * 2 // 3, f"{hot} of {n} anchored updates were HOT"
            with factory() as s:
                statuses = s.execute(
                    sa.select(Credential.status, sa.func.count()).group_by(Credential.status)
                ).all()
            assert statuses == [("anchored", n)]
        finally:
            engine.dispose()
