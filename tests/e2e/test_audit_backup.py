"""The regulator's audit of a backup: a node (its own TI, real API server and pipeline on the dev Anvil) issues,
revokes, suspends and publishes its status lists; `credreg db backup` copies its database while it runs, and
`credreg audit` of that copy passes. Each tampered copy fails naming the row; a plain cp of the running file, a
copy beside its WAL, and a copy claiming blocks the chain does not have are refused with exit 2."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time

import pytest
import sqlalchemy as sa
from sqlmodel import select
from typer.testing import CliRunner

from node.cli import build_app
from node.cli.embedded import EmbeddedNode, node_settings
from node.storage.registry_tables import IndexerCursor
from node.storage.revocation_tables import StatusList, StatusTx
from tests.helpers.credentials import sample_credential
from tests.helpers.registry import accredit_ti


def cli(*args: str):
    return CliRunner(env={"COLUMNS": "250"}).invoke(build_app(), list(args), catch_exceptions=False)


def wait(what: str, done, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (value := done()):
        assert time.monotonic() < deadline, f"{what} not done in {timeout}s"
        time.sleep(0.2)
    return value


@pytest.fixture(scope="module")
def node_with_history(dev_network, tmp_path_factory):
    """A node that issued 4 credentials with status entries, revoked one, suspended one, published both lists
    and indexed all of it; its backup made by `credreg db backup` while it ran."""
    from tests.helpers.chain import Funder

    tmp = tmp_path_factory.mktemp("audited")
    w3 = dev_network.chain.web3()
    ti = Funder(dev_network).account()
    did = f"did:example:{ti.address}"
    accredit_ti(w3, dev_network, ti.address, did=did)
    mp = pytest.MonkeyPatch()
    mp.setenv("CREDREG_STATUS_LIST_PUBLISH_INTERVAL_SECONDS", "0")
    node = EmbeddedNode(node_settings(tmp, dev_network.chain.rpc_url, dev_network.deployment, ti.key))
    try:
        digests = []
        for n in range(4):
            entries = node.http.post("/v1/status/allocate").json()["credentialStatus"]
            digests.append(node.issue(sample_credential(n, did, credentialStatus=entries)))
        node.wait_anchored(digests)
        for digest, action, reason in (
            (digests[0], "revoke", "keyCompromise"),
            (digests[1], "suspend", "underInvestigation"),
        ):
            r = node.http.post(f"/v1/credentials/{digest}/{action}", json={"reason": reason})
            assert r.status_code == 202, r.text
            request = r.json()["requestId"]
            wait(action, lambda request=request: node.http.get(f"/v1/revocations/{request}").json()["done"])

        def settled():
            with node.runtime.factory() as s:
                lists = s.exec(select(StatusList)).all()
                published = len(lists) == 2 and all(lst.published_revision == lst.revision for lst in lists)
                newest = max(
                    [t.block_number or 0 for t in s.exec(select(StatusTx)).all()]
                    + [
                        b
                        for b in s.execute(
                            sa.text("SELECT block_number FROM status_list_publication")
                        ).scalars()
                        if b
                    ]
                )
                cursor = s.exec(select(IndexerCursor)).first()
                return published and cursor is not None and cursor.last_block >= newest

        wait("publication and indexing", settled)
        backup = tmp / "backup.db"
        result = cli(
            "db", "backup", str(backup), "--database-url", node.settings.database_url, "--no-progress"
        )
        assert result.exit_code == 0, result.output
        assert "sqlite backup written" in result.output
        yield {"node": node, "backup": backup, "tmp": tmp, "ti": ti, "digests": digests}
    finally:
        node.stop()
        mp.undo()


def audit(copy, dev_network, tmp, name: str):
    deployment = tmp / "deployment.json"
    report = tmp / f"{name}.json"
    result = cli(
        "audit",
        "--database-url",
        f"sqlite:///{copy}",
        "--rpc",
        dev_network.chain.rpc_url,
        "--deployment",
        str(deployment),
        "--no-progress",
        "--json",
        str(report),
    )
    assert "Traceback" not in result.output
    return result, (json.loads(report.read_text()) if report.exists() else None)


def tampered(history, name: str, *statements: str):
    copy = history["tmp"] / f"{name}.db"
    shutil.copyfile(history["backup"], copy)  # the backup is one self-contained file: a plain copy is fine
    conn = sqlite3.connect(copy)
    with conn:
        for sql in statements:
            assert conn.execute(sql).rowcount >= 1, sql
    conn.close()
    return copy


def rows_of(report: dict, section: str, result: str = "fail") -> list[str]:
    return [f["row"] for f in report[section]["items"] if f["result"] == result]


def test_audit_of_a_backup_passes(node_with_history, dev_network):
    h = node_with_history
    result, report = audit(h["backup"], dev_network, h["tmp"], "honest")
    assert result.exit_code == 0, result.output
    assert report["format"] == "credreg-audit/2" and report["result"] == "pass"
    s = report["summary"]
    assert (s["batches"], s["fail"], s["credentials"]) >= (1, 0, 4) and s["fail"] == 0
    assert s["statusChanges"]["pass"] >= 2 + 2 and s["statusChanges"]["fail"] == 0  # 2 rows, 2 states
    assert s["statusLists"]["fail"] == 0 and s["statusLists"]["pass"] >= 4  # 2 publications each, 2 lists
    assert s["registry"]["fail"] == 0 and s["registry"]["pass"] > 10
    assert s["anchors"]["fail"] == 0 and s["anchors"]["pass"] >= 1
    assert report["copy"]["journalMode"] == "delete"
    assert all(w in result.output for w in ("status changes:", "status lists:", "registry index:"))
    changes = {f["row"].split(" (")[0]: f["reason"] for f in report["statusChanges"]["items"]}
    assert any("revoked (reason 1)" in reason for reason in changes.values())
    assert any("suspended (reason 105)" in reason for reason in changes.values())
    # the audit only read: the copy is still what the backup wrote (no -wal, no -journal beside it)
    assert not list(h["backup"].parent.glob("backup.db-*"))


@pytest.mark.parametrize(
    "name,statements,section,named",
    [
        (
            "reason",
            ["UPDATE status_change SET reason = 101 WHERE action = 'revoke'"],
            "statusChanges",
            "status_change",
        ),
        (
            "deleted-change",
            ["DELETE FROM status_change WHERE action = 'suspend'"],
            "statusChanges",
            "chain event",
        ),
        (
            "forged-publication",
            [
                "UPDATE status_list_publication SET list_hash = '0x" + "ab" * 32 + "'"
                " WHERE id = (SELECT max(id) FROM status_list_publication WHERE state = 'confirmed')"
            ],
            "statusLists",
            "status_list_publication",
        ),
        (
            "flipped-bit",
            ["UPDATE status_list_entry SET bit = 1 - bit WHERE id = (SELECT min(id) FROM status_list_entry)"],
            "statusLists",
            "status_list ",
        ),
        (
            "registry-entry",
            ["UPDATE registry_issuer SET did = 'did:web:evil.example' WHERE kind = 'ti'"],
            "registry",
            "registry_issuer",
        ),
        (
            "registry-event",
            [
                "UPDATE registry_event SET block_number = block_number + 1 WHERE id = (SELECT max(id) FROM registry_event)"
            ],
            "registry",
            "registry_event",
        ),
    ],
)
def test_each_tampered_copy_fails_naming_the_row(
    node_with_history, dev_network, name, statements, section, named
):
    h = node_with_history
    result, report = audit(tampered(h, name, *statements), dev_network, h["tmp"], name)
    assert result.exit_code == 1, result.output
    assert report["result"] == "fail"
    failed = rows_of(report, section)
    assert failed and all(r.startswith(named) for r in failed[:1]), failed
    assert named in result.output
    others = [k for k in ("anchors", "statusChanges", "statusLists", "registry") if k != section]
    assert all(report["summary"][k]["fail"] == 0 for k in others), report["summary"]
    assert report["summary"]["fail"] == 0  # the batches are untouched


def test_copies_that_cannot_be_trusted_are_refused(node_with_history, dev_network):
    h = node_with_history
    live = h["node"].settings.database_url.removeprefix("sqlite:///")
    plain = h["tmp"] / "plain-cp.db"
    shutil.copyfile(live, plain)  # what an operator might do while the node runs
    result, report = audit(plain, dev_network, h["tmp"], "plain")
    assert result.exit_code == 2 and report is None
    assert "WAL mode" in result.output and "credreg db backup" in result.output
    assert len(result.output.strip().splitlines()) == 1

    with_wal = h["tmp"] / "with-wal.db"
    shutil.copyfile(h["backup"], with_wal)
    (h["tmp"] / "with-wal.db-wal").write_bytes(b"\x37\x7f\x06\x82" + b"\0" * (32 + 2 * (4096 + 24) - 4))
    result, _ = audit(with_wal, dev_network, h["tmp"], "with-wal")
    assert result.exit_code == 2 and "write-ahead frames" in result.output

    head = dev_network.chain.web3().eth.block_number
    ahead = tampered(h, "ahead", f"UPDATE registry_indexer_cursor SET last_block = {head + 10_000}")  # noqa: S608
    result, _ = audit(ahead, dev_network, h["tmp"], "ahead")
    assert result.exit_code == 2 and "head" in result.output
    forked = tampered(
        h, "forked", "UPDATE registry_indexer_cursor SET last_block_hash = '0x" + "12" * 32 + "'"
    )
    result, _ = audit(forked, dev_network, h["tmp"], "forked")
    assert result.exit_code == 2 and "another chain" in result.output
