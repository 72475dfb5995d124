"""E-mail delivery of share links against a real SMTP server (aiosmtpd, started by the test): the learner
receives the link and it opens the credential's page; the queue survives a restart (another process sends what
the first left pending) and never sends twice."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
import sqlalchemy as sa

from node.dev.chains import free_port
from node.learners.mail import deliver_due
from node.settings import Settings
from node.storage.models import utcnow
from tests.helpers.paths import REPO
from tests.helpers.samples import MYNEXTID_OB3, load
from tests.helpers.smtp import smtp_server


@pytest.fixture
def smtp_port():
    return free_port()


@pytest.fixture
def settings(db_url, tmp_path, smtp_port):
    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
        smtp_timeout_seconds=5,
        mail_from="Uni Test <credentials@uni.example>",
        mail_retry_seconds=0,
        vc_validation="off",  # delivery is under test, not the W3C VC rules (test_vc_issuance.py)
        _env_file=None,
    )


def _share(client, issuer, to="ana@learner.example"):
    r = client.post("/v1/credentials", json=load(MYNEXTID_OB3), headers=issuer.headers)
    assert r.status_code == 202, r.text
    r = client.post(
        f"/v1/credentials/{r.json()['digest']}/share-links", json={"sendTo": to}, headers=issuer.headers
    )
    assert r.status_code == 201, r.text
    return r.json()


def _rows(engine):
    with engine.connect() as c:
        return c.execute(
            sa.text("SELECT state, attempts, message IS NULL, last_error FROM mail_delivery")
        ).all()


def test_the_learner_receives_the_link_and_it_opens_the_page(
    client, issuer, settings, session_factory, engine, smtp_port
):
    made = _share(client, issuer)
    assert made["delivery"]["state"] == "pending" and made["delivery"]["attempts"] == 0
    with smtp_server(smtp_port) as (inbox, _):
        run = deliver_due(session_factory, settings)
        assert (run.sent, run.retrying, run.failed) == (1, 0, 0)
        assert deliver_due(session_factory, settings).sent == 0  # nothing left: sent once
    [msg] = inbox.messages
    assert msg["To"] == "ana@learner.example" and msg["From"] == "Uni Test <credentials@uni.example>"
    assert msg["Message-ID"] == made["delivery"]["messageId"]
    assert "Data Science Fundamentals" in msg["Subject"]
    body = msg.get_content()
    assert made["url"] in body
    page = client.get(made["url"].replace("http://testserver", ""))
    assert page.status_code == 200 and "Data Science Fundamentals" in page.text
    assert _rows(engine) == [("sent", 1, True, None)]  # the link left the database with the message


def test_pending_mail_is_sent_exactly_once_by_the_next_process(
    client, issuer, settings, session_factory, engine, smtp_port, db_url, tmp_path
):
    made = _share(client, issuer)
    run = deliver_due(session_factory, settings)  # no server listening yet: a temporary failure
    assert (run.sent, run.retrying) == (0, 1)
    [(state, attempts, cleared, error)] = _rows(engine)
    assert (state, attempts, cleared) == ("pending", 1, False) and "Connection" in error

    env = {
        **os.environ,
        "CREDREG_ENV_FILE": str(tmp_path / "none.env"),
        "CREDREG_DATABASE_URL": db_url,
        "CREDREG_SMTP_HOST": "127.0.0.1",
        "CREDREG_SMTP_PORT": str(smtp_port),
        "CREDREG_SMTP_SECURITY": "none",
        "CREDREG_MAIL_FROM": settings.mail_from,
    }
    with smtp_server(smtp_port) as (inbox, _):
        # the restarted node (a process of its own) sends it; another round finds nothing left to send
        proc = subprocess.run(
            [sys.executable, "-m", "node.cli", "mail", "deliver"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0 and "sent 1," in proc.stdout, proc.stderr[-2000:]
        assert deliver_due(session_factory, settings).sent == 0
    assert [m["Message-ID"] for m in inbox.messages] == [made["delivery"]["messageId"]]
    assert _rows(engine) == [("sent", 2, True, None)]


def test_an_interrupted_send_is_never_repeated_and_a_refused_address_fails(
    client, issuer, settings, session_factory, engine, smtp_port
):
    _share(client, issuer, "gone@learner.example")
    with engine.begin() as c:  # a process stopped in the middle of the SMTP transaction, its lease long over
        c.execute(
            sa.text("UPDATE mail_delivery SET state = 'sending', attempts = 1, next_attempt_at = :t"),
            {"t": utcnow() - timedelta(hours=1)},
        )
    _share(client, issuer, "nobody@learner.example")
    with smtp_server(smtp_port) as (inbox, _):
        inbox.refuse.add("nobody@learner.example")
        run = deliver_due(session_factory, settings)
    assert (run.interrupted, run.failed, run.sent) == (1, 1, 0) and inbox.messages == []
    rows = _rows(engine)
    assert [r[0] for r in rows] == ["failed", "failed"]
    assert "not sent again" in rows[0][3] and "550" in rows[1][3]


def test_no_smtp_host_sends_nothing_and_the_command_says_so(
    client, issuer, settings, session_factory, engine, tmp_path
):
    _share(client, issuer)
    assert deliver_due(session_factory, settings.model_copy(update={"smtp_host": None})).sent == 0
    from typer.testing import CliRunner

    from node.cli import app as cli

    proc = CliRunner().invoke(
        cli,
        ["mail", "deliver"],
        env={"CREDREG_ENV_FILE": str(tmp_path / "none.env"), "CREDREG_SMTP_HOST": ""},
    )
    assert proc.exit_code == 2 and "CREDREG_SMTP_HOST" in proc.output
    assert _rows(engine)[0][0] == "pending"
