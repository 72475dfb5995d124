"""`credreg audit`: an honest database passes; a changed digest, a deleted credential, a forged root and a
wrong issuer are each caught; anchors are real (the node's Anchorer against the dev Anvil network). A SQLite
database is audited through a `credreg db backup` copy (the live file is refused), PostgreSQL as it is."""

from __future__ import annotations

import json
import sqlite3
import uuid

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from anchoring.chain.transactions import TransactionSender
from node.cli.audit import audit
from node.issuance.accept import issue_many
from node.pipeline.anchorer import Anchorer
from node.pipeline.sealer import seal_batch
from node.storage.backup import backup_database
from node.storage.models import Batch, BatchState
from tests.helpers.db import make_issuer
from tests.helpers.registry import accredit_ti

cli = typer.Typer()
cli.command()(audit)


def _issue_and_seal(session_factory, issuer_id: int, size: int) -> int:
    with session_factory() as s:
        issue_many(
            s,
            issuer_id,
            [{"id": f"urn:uuid:{uuid.uuid4()}", "name": "Data Science"} for _ in range(size)],
            max_bytes=65536,
        )
    with session_factory() as s:
        batch = seal_batch(s, issuer_id, 10_000)
        s.commit()
        return batch.id


def anchored_batches(session_factory, dev_network, ti, sizes: list[int], extra_sealed: int = 0) -> list[int]:
    """Issue, seal and anchor (with the node's Anchorer) one batch per size with the TI `ti`; then leave
    ``extra_sealed`` one-credential batches sealed but not anchored."""
    w3 = dev_network.chain.web3()
    issuer = make_issuer(session_factory, f"Audit Uni {uuid.uuid4().hex[:6]}", ti.address)
    ids = [_issue_and_seal(session_factory, issuer.id, size) for size in sizes]
    anchorer = Anchorer(
        session_factory,
        TransactionSender(w3, ti),
        dev_network.anchor(w3),
        issuer.id,
        confirmations=1,
        chain_id=dev_network.deployment.chain_id,
    )
    states = {}
    for _ in range(60):
        with session_factory() as s:
            states = {b.id: b.state for b in s.execute(sa.select(Batch).where(Batch.id.in_(ids))).scalars()}
        if all(state == BatchState.confirmed.value for state in states.values()):
            break
        anchorer.run_pass()
    else:
        pytest.fail(f"batches not confirmed: {states}")
    return ids + [_issue_and_seal(session_factory, issuer.id, 1) for _ in range(extra_sealed)]


@pytest.fixture()
def audit_args(db_url, dev_network, tmp_path):
    deployment = tmp_path / "deployment.json"
    dev_network.deployment.save(deployment)
    return [
        "--database-url",
        "AUDITED",
        "--rpc",
        dev_network.chain.rpc_url,
        "--deployment",
        str(deployment),
        "--no-progress",
    ]


def audited(db_url: str, tmp_path, name: str) -> str:
    """What a regulator audits: a `credreg db backup` copy of a SQLite database, a PostgreSQL one as it is."""
    if not db_url.startswith("sqlite"):
        return db_url
    copy = tmp_path / f"{name}.db"
    backup_database(db_url, copy, force=True)
    return f"sqlite:///{copy}"


def run_audit(audit_args, tmp_path, name="report.json", db_url=None):
    report_file = tmp_path / name
    args = [audited(db_url, tmp_path, name) if a == "AUDITED" else a for a in audit_args]
    result = CliRunner().invoke(
        cli, [*args, "--json", str(report_file)], catch_exceptions=False, terminal_width=200
    )
    assert "Traceback" not in result.output
    return result, json.loads(report_file.read_text())


def test_honest_database_passes_and_tampering_is_caught(
    session_factory, engine, dev_network, audit_args, tmp_path, db_url, funder
):
    ti = funder.account()  # a TI of its own: every anchor of its key on chain is a batch of this database
    accredit_ti(dev_network.chain.web3(), dev_network, ti.address)
    ids = anchored_batches(session_factory, dev_network, ti, [3, 4, 2, 5, 1, 2], extra_sealed=1)
    result, report = run_audit(audit_args, tmp_path, db_url=db_url)
    assert result.exit_code == 0, result.output
    assert report["format"] == "credreg-audit/2" and report["result"] == "pass"
    summary = {
        k: report["summary"][k] for k in ("batches", "pass", "fail", "error", "pending", "credentials")
    }
    assert summary == {
        "batches": 7,
        "pass": 6,
        "fail": 0,
        "error": 0,
        "pending": 1,
        "credentials": 18,
    }
    assert report["summary"]["anchors"]["pass"] == 6 and report["summary"]["anchors"]["fail"] == 0
    first = report["batches"][0]
    assert set(first["checks"]) >= {
        "leaves",
        "root",
        "tree",
        "anchored",
        "issuer",
        "leafCount",
        "trusted",
        "block",
    }
    assert all(c["result"] == "pass" for c in first["checks"].values())
    assert first["anchor"]["leafCount"] == 3 and first["anchor"]["issuer"] == ti.address
    assert report["batches"][-1]["outcome"] == "pending"
    assert "password" not in json.dumps(report)

    # (not the newest batch: without an indexer cursor the copy's horizon is its newest batch's block, and a copy
    # whose newest batches are missing is indistinguishable from an older copy)
    changed, deleted, forged, wrong_issuer, gone, honest = ids[:6]
    with engine.begin() as c:
        gone_root = c.execute(sa.text("SELECT root FROM batch WHERE id = :b"), {"b": gone}).scalar()
        forged_root = c.execute(sa.text("SELECT root FROM batch WHERE id = :b"), {"b": forged}).scalar()
        # 0. a whole batch deleted: only the chain still knows it
        c.execute(sa.text("DELETE FROM credential WHERE batch_id = :b"), {"b": gone})
        c.execute(sa.text("DELETE FROM batch WHERE id = :b"), {"b": gone})
        # 1. a changed digest
        c.execute(
            sa.text("UPDATE credential SET digest = :d WHERE batch_id = :b AND leaf_index = 1"),
            {"d": "0x" + "ab" * 32, "b": changed},
        )
        # 2. a deleted credential
        c.execute(sa.text("DELETE FROM credential WHERE batch_id = :b AND leaf_index = 0"), {"b": deleted})
        # 3. a forged root (and the batch claims to be confirmed)
        c.execute(sa.text("UPDATE batch SET root = :r WHERE id = :b"), {"r": "0x" + "cd" * 32, "b": forged})
    # 4. another issuer claims a batch: give it its own issuer row with another address
    other = make_issuer(session_factory, f"Impostor {uuid.uuid4().hex[:6]}", "0x" + "42" * 20)
    with engine.begin() as c:
        c.execute(
            sa.text("UPDATE batch SET issuer_id = :i WHERE id = :b"), {"i": other.id, "b": wrong_issuer}
        )

    result, report = run_audit(audit_args, tmp_path, "tampered.json", db_url=db_url)
    assert result.exit_code == 1, result.output
    by_id = {b["batchId"]: b for b in report["batches"]}

    def failed(b):
        return {k for k, v in by_id[b]["checks"].items() if v["result"] == "fail"}

    assert report["result"] == "fail" and report["summary"]["fail"] == 4
    assert failed(changed) == {"root"}
    assert "the stored digests give root" in by_id[changed]["checks"]["root"]["reason"]
    assert {"leaves", "root", "leafCount"} <= failed(deleted)
    assert "missing [0]" in by_id[deleted]["checks"]["leaves"]["reason"]
    assert {"root", "tree", "anchored"} <= failed(forged)
    assert failed(wrong_issuer) == {"issuer"}
    assert by_id[honest]["outcome"] == "pass"
    assert "fail" in result.output and "root" in result.output
    assert gone not in by_id
    unknown = [f["reason"] for f in report["anchors"]["items"] if f["result"] == "fail"]
    assert (
        len(unknown) == 3
    )  # the deleted batch, the forged root's real one, the batch given to another issuer
    assert any(gone_root in r and "the node has no batch for it" in r for r in unknown)
    assert any(forged_root in r for r in unknown)


def test_unreachable_chain_and_missing_database(audit_args, tmp_path, db_url):
    args = list(audit_args)
    args[args.index("--database-url") + 1] = db_url
    args[args.index("--rpc") + 1] = "http://127.0.0.1:1"
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 2 and "cannot reach" in result.output
    args = list(audit_args)
    args[args.index("--database-url") + 1] = f"sqlite:///{tmp_path / 'missing.db'}"
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 2 and "no such database file" in result.output
    other = tmp_path / "other.db"  # a SQLite file, but not a node's database
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    args[args.index("--database-url") + 1] = f"sqlite:///{other}"
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 2 and "cannot read batches" in result.output
    (tmp_path / "not-sqlite.db").write_text("hello")
    args[args.index("--database-url") + 1] = f"sqlite:///{tmp_path / 'not-sqlite.db'}"
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 2 and "is not a SQLite database" in result.output


def test_help_has_an_example():
    assert "Example:" in CliRunner().invoke(cli, ["--help"], terminal_width=200).output
