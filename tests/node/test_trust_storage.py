"""Migration 0005_trust on SQLite and PostgreSQL: any uint64 leaf count fits, two issuers may index the same root,
registry reason texts, and the downgrade refuses what a BIGINT / unique root could not hold."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from node.storage.db import current_revision, head_revision, make_engine, session_factory, upgrade
from node.storage.registry_tables import RegistryAnchor, RegistryEvent
from tests.helpers.db import downgrade

ISSUER_A, ISSUER_B = "0x" + "aA" * 20, "0x" + "bB" * 20


def _anchor(root: str, issuer: str, leaf_count: int, n: int) -> RegistryAnchor:
    return RegistryAnchor(
        root=root,
        issuer=issuer,
        leaf_count=leaf_count,
        block_number=n,
        block_hash="0x" + f"{n:064x}",
        tx_hash="0x" + f"{n + 1000:064x}",
        log_index=0,
        timestamp=1_700_000_000 + n,
    )


def test_0005_keeps_rows_and_holds_any_uint64(db_url):
    eng = make_engine(db_url)
    try:
        upgrade(eng, "0004_outbox")
        with eng.begin() as c:
            c.execute(
                sa.text(
                    "INSERT INTO registry_anchor (root, issuer, leaf_count, block_number, block_hash, tx_hash,"
                    " log_index, timestamp) VALUES (:r, :i, :n, 5, :h, :t, 0, 1700000000)"
                ),
                {
                    "r": "0x" + "01" * 32,
                    "i": ISSUER_A,
                    "n": 2**63 - 1,
                    "h": "0x" + "02" * 32,
                    "t": "0x" + "03" * 32,
                },
            )
        upgrade(eng)
        assert current_revision(eng) == head_revision()
        factory = session_factory(eng)
        largest, shared = "0x" + "0f" * 32, "0x" + "01" * 32
        with factory() as s:
            s.add(_anchor(largest, ISSUER_A, 2**64 - 1, 7))
            s.add(_anchor(shared, ISSUER_B, 3, 8))  # the same root as the old row, another issuer's namespace
            s.add(
                RegistryEvent(
                    address=ISSUER_A,
                    action="suspended",
                    by=ISSUER_B,
                    previous_status="active",
                    new_status="suspended",
                    reason_hash="0x" + "04" * 32,
                    reason="audit pending: é ✓",
                    block_number=9,
                    block_hash="0x" + "05" * 32,
                    tx_hash="0x" + "06" * 32,
                    log_index=0,
                    timestamp=1_700_000_009,
                )
            )
            s.commit()
        with factory() as s:
            counts = {
                (a.root, a.issuer): a.leaf_count for a in s.execute(sa.select(RegistryAnchor)).scalars()
            }
            total = s.execute(sa.select(sa.func.sum(RegistryAnchor.__table__.c.leaf_count))).scalar()
            assert s.execute(sa.select(RegistryEvent.__table__.c.reason)).scalar() == "audit pending: é ✓"
        assert counts == {
            (shared, ISSUER_A): 2**63 - 1,
            (largest, ISSUER_A): 2**64 - 1,
            (shared, ISSUER_B): 3,
        }
        assert isinstance(counts[(largest, ISSUER_A)], int)
        if eng.dialect.name == "postgresql":
            assert int(total) == 2**63 - 1 + 2**64 - 1 + 3  # exact on PostgreSQL
        with factory() as s, pytest.raises(sa.exc.IntegrityError):
            s.add(_anchor(largest, ISSUER_A, 1, 10))  # the same (issuer, root) twice
            s.commit()
        with factory() as s, pytest.raises(sa.exc.StatementError, match="unsigned 64-bit"):
            s.add(_anchor("0x" + "0e" * 32, ISSUER_A, 2**64, 11))
            s.commit()

        with pytest.raises(RuntimeError, match="above 2\\*\\*63-1"):
            downgrade(eng, "0004_outbox")
        with eng.begin() as c:
            c.execute(sa.text("DELETE FROM registry_anchor WHERE root = :r"), {"r": largest})
        with pytest.raises(RuntimeError, match="more than one issuer"):
            downgrade(eng, "0004_outbox")
        with eng.begin() as c:
            c.execute(sa.text("DELETE FROM registry_anchor WHERE issuer = :i"), {"i": ISSUER_B})
        downgrade(eng, "0004_outbox")
        with eng.connect() as c:
            assert c.execute(sa.text("SELECT leaf_count FROM registry_anchor")).scalar() == 2**63 - 1
            assert "reason" not in {col["name"] for col in sa.inspect(c).get_columns("registry_event")}
        upgrade(eng)
        assert current_revision(eng) == head_revision()
    finally:
        eng.dispose()
