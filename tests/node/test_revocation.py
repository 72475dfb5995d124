"""Revocation API and queue (no chain): validation, ownership, idempotency, finality, all-or-nothing, and the
status-change state machine; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlmodel import select

from node.errors import Invalid
from node.revocation.changes import (
    open_changes,
    record_change_failed,
    record_tx_confirmed,
    record_tx_dropped,
    record_tx_submission,
    submitted_txs,
)
from node.revocation.reasons import REASONS, parse_reason
from node.storage.revocation_tables import CredentialStatusState, StatusChange, TxState
from tests.helpers.credentials import cred
from tests.helpers.db import count_rows, make_issuer
from tests.helpers.nodes import issue_anchored
from tests.helpers.problems import assert_problem


def test_reason_codes():
    assert parse_reason("keyCompromise", "revoke") == 1
    assert parse_reason(None, "revoke") == 0
    assert parse_reason(None, "suspend") == 6
    assert parse_reason("fraud", "revoke") == 100 and REASONS["administrativeError"] == 101
    assert parse_reason(9, "revoke") == 9
    assert parse_reason(None, "reinstate") == 0
    for bad, action in (
        ("certificateHold", "revoke"),
        ("nope", "revoke"),
        (7, "revoke"),
        (True, "revoke"),
        ("removeFromCRL", "suspend"),
        ("fraud", "reinstate"),
    ):
        with pytest.raises(Invalid) as exc:
            parse_reason(bad, action)
        assert exc.value.errors[0]["field"] == "reason"
    assert all(0 <= code <= 255 for code in REASONS.values())


def test_revoke_one_queues_and_is_idempotent(client, issuer, session_factory, settings, engine):
    digests = issue_anchored(client, issuer, session_factory, settings, 3)
    r = client.post(f"/v1/credentials/{digests[0]}/revoke", headers=issuer.headers, json={"reason": "fraud"})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["queued"] == 1 and body["reasonCode"] == 100 and body["items"][0]["status"] == "revoked"
    again = client.post(
        f"/v1/credentials/{digests[0]}/revoke", headers=issuer.headers, json={"reason": "fraud"}
    )
    assert again.status_code == 202 and again.json()["queued"] == 0 and again.json()["unchanged"] == 1
    assert count_rows(engine, "status_change") == 1
    # revocation is final: reinstate and suspend are refused
    assert_problem(
        client.post(f"/v1/credentials/{digests[0]}/reinstate", headers=issuer.headers), 409, "path.digest"
    )
    assert_problem(client.post(f"/v1/credentials/{digests[0]}/suspend", headers=issuer.headers), 409)
    # progress of the request and of the credential
    prog = client.get(body["statusUrl"].removeprefix("http://testserver"), headers=issuer.headers).json()
    assert prog["queued"] == 1 and not prog["done"]
    st = client.get(f"/v1/credentials/{digests[0]}/revocation", headers=issuer.headers).json()
    assert st["status"] == "valid" and st["targetStatus"] == "revoked"


def test_bad_requests_write_nothing(client, issuer, session_factory, settings, engine):
    digests = issue_anchored(client, issuer, session_factory, settings, 2)
    pending = client.post("/v1/credentials", headers=issuer.headers, json=cred(99)).json()["digest"]
    h = issuer.headers
    assert_problem(
        client.post(f"/v1/credentials/{digests[0]}/revoke", headers=h, json={"reason": "bogus"}),
        422,
        "reason",
    )
    assert_problem(
        client.post(f"/v1/credentials/{digests[0]}/revoke", headers=h, json={"reson": "fraud"}), 422, "reson"
    )
    assert_problem(
        client.post(
            f"/v1/credentials/{digests[0]}/revoke",
            headers=h,
            content=b"{nope",
        ),
        400,
    )
    assert_problem(client.post(f"/v1/credentials/{pending}/revoke", headers=h), 409, "path.digest")
    assert_problem(client.post("/v1/credentials/0x1234/revoke", headers=h), 422, "path.digest")
    assert_problem(client.post("/v1/credentials/" + "0x" + "00" * 32 + "/revoke", headers=h), 404)
    # bulk: one unknown digest and nothing is queued; the field names the position
    body = assert_problem(
        client.post(
            "/v1/revocations", headers=h, json={"action": "revoke", "digests": [digests[0], "0x" + "00" * 32]}
        ),
        404,
        "digests[1]",
    )
    assert "nothing was queued" in body["detail"]
    assert_problem(
        client.post(
            "/v1/revocations", headers=h, json={"action": "revoke", "digests": [digests[0], pending]}
        ),
        409,
        "digests[1]",
    )
    assert_problem(
        client.post("/v1/revocations", headers=h, json={"action": "delete", "digests": digests}),
        422,
        "action",
    )
    assert_problem(
        client.post("/v1/revocations", headers=h, json={"action": "revoke", "digests": "x"}), 422, "digests"
    )
    assert_problem(
        client.post(
            "/v1/revocations", headers=h, json={"action": "revoke", "digests": [digests[0], digests[0]]}
        ),
        422,
        "digests[1]",
    )
    assert_problem(
        client.post("/v1/revocations", headers=h, json={"action": "revoke", "digests": []}), 422, "digests"
    )
    assert count_rows(engine, "status_change") == 0 and count_rows(engine, "credential_status_state") == 0


def test_auth_and_ownership(client, issuer, session_factory, settings, engine):
    digests = issue_anchored(client, issuer, session_factory, settings, 1)
    other = make_issuer(session_factory, "Other Uni", "0x" + "22" * 20)
    assert_problem(client.post(f"/v1/credentials/{digests[0]}/revoke"), 401)
    assert_problem(
        client.post(
            f"/v1/credentials/{digests[0]}/revoke", headers={"Authorization": f"Bearer {issuer.reader_token}"}
        ),
        403,
    )
    assert_problem(client.post(f"/v1/credentials/{digests[0]}/revoke", headers=other.headers), 404)
    assert_problem(
        client.post("/v1/revocations", headers=other.headers, json={"action": "suspend", "digests": digests}),
        404,
        "digests[0]",
    )
    assert count_rows(engine, "status_change") == 0


def test_suspend_reinstate_and_bulk(client, issuer, session_factory, settings, engine):
    digests = issue_anchored(client, issuer, session_factory, settings, 20)
    h = issuer.headers
    r = client.post(
        "/v1/revocations",
        headers=h,
        json={"action": "suspend", "reason": "underInvestigation", "digests": digests[:10]},
    )
    assert r.status_code == 202 and r.json()["queued"] == 10
    # reinstating a valid credential is a no-op; a suspended one is queued behind its suspension
    r = client.post("/v1/revocations", headers=h, json={"action": "reinstate", "digests": digests[:12]})
    assert r.status_code == 202 and r.json()["queued"] == 10 and r.json()["unchanged"] == 2
    with session_factory() as s:
        sendable = open_changes(s, issuer.id)
    assert len(sendable) == 10 and {c.action for c in sendable} == {"suspend"}


def test_state_machine(client, issuer, session_factory, settings, engine):
    digests = issue_anchored(client, issuer, session_factory, settings, 5)
    client.post("/v1/revocations", headers=issuer.headers, json={"action": "revoke", "digests": digests})
    with session_factory() as s:
        changes = open_changes(s, issuer.id)
        tx = record_tx_submission(
            s, changes[:3], nonce=7, tx_hash="0x" + "cd" * 32, chain_id=31337, contract_address=None
        )
        assert [t.id for t in submitted_txs(s, issuer.id)] == [tx.id]
        assert len(open_changes(s, issuer.id)) == 2
        record_tx_dropped(s, tx, "gone")
        assert len(open_changes(s, issuer.id)) == 5
        changes = open_changes(s, issuer.id)
        tx2 = record_tx_submission(
            s, changes[:4], nonce=8, tx_hash="0x" + "ce" * 32, chain_id=31337, contract_address=None
        )
        record_tx_confirmed(s, tx2, block_number=5, block_hash="0x" + "01" * 32, gas_used=100_000)
        record_change_failed(s, open_changes(s, issuer.id)[0], "test")
        states = {st.digest: st for st in s.exec(select(CredentialStatusState))}
        rows = s.exec(select(StatusChange).order_by(StatusChange.id)).all()
    assert [r.state for r in rows] == ["confirmed"] * 4 + ["failed"]
    assert rows[0].attempts == 2
    assert all(states[d].confirmed == "revoked" for d in digests[:4])
    failed = states[digests[4]]
    assert failed.confirmed == "valid" and failed.target == "valid"  # it may be asked for again
    r = client.post(f"/v1/credentials/{digests[4]}/revoke", headers=issuer.headers)
    assert r.status_code == 202 and r.json()["queued"] == 1


def test_status_tx_steps_are_checked(client, issuer, session_factory, settings):
    from node.pipeline.outbox import InvalidTransition
    from node.revocation.changes import record_tx_reorg

    digests = issue_anchored(client, issuer, session_factory, settings, 3)
    client.post("/v1/revocations", headers=issuer.headers, json={"action": "revoke", "digests": digests})
    with session_factory() as s:
        changes = open_changes(s, issuer.id)
        tx = record_tx_submission(
            s, changes[:2], nonce=1, tx_hash="0x" + "cd" * 32, chain_id=31337, contract_address=None
        )
        assert tx.submitted_at is not None and tx.confirmations == 0
        with pytest.raises(InvalidTransition, match=r"status change .*: submitted -> submitted"):
            record_tx_submission(
                s, changes[:1], nonce=2, tx_hash="0x" + "ce" * 32, chain_id=31337, contract_address=None
            )
        s.rollback()
        tx = s.get(type(tx), tx.id)
        with pytest.raises(
            InvalidTransition, match=r"status tx .*: submitted -> submitted .*starts from confirmed"
        ):
            record_tx_reorg(s, tx, "not confirmed")
        record_tx_dropped(s, tx, "gone")
        with pytest.raises(InvalidTransition, match="dropped -> confirmed"):
            record_tx_confirmed(s, tx, block_number=1, block_hash="0x" + "01" * 32, gas_used=1)
        with pytest.raises(InvalidTransition, match="dropped -> failed"):
            record_tx_dropped(s, tx, "again", TxState.failed)
        assert len(open_changes(s, issuer.id)) == 3  # the dropped transaction's changes are queued again
