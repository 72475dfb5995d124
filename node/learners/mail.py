"""E-mail delivery of share links: a retry queue in the database that survives a restart and never sends twice.

Each delivery is one ``mail_delivery`` row, an idempotent state machine (``node.storage.learner_tables``)::

    pending --claim (attempts + 1, committed before any byte goes out)--> sending --250 from the server--> sent
       ^                                                                     |
       +--- a temporary failure, attempts left (next try after a backoff) ---+--> failed (5xx, no attempts left)

* A claim is a compare-and-set (``UPDATE ... WHERE state = 'pending'``): two workers never send the same row.
* A row found in ``sending`` after its lease ran out belongs to a process that stopped mid-send: the server may
  have accepted the message, so it is marked ``failed`` ("interrupted"), never sent again. Its Message-ID
  (fixed when the row is made) finds it in the SMTP server's log.
* The composed message carries the share link, so it is kept only until it is sent.

The sending itself is the standard library's ``smtplib`` (STARTTLS, implicit TLS or plain to a local relay).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import sqlalchemy as sa
from sqlmodel import Session, col, select

from node.settings import Settings
from node.storage.learner_tables import DeliveryState, MailDelivery, ShareLink
from node.storage.models import utcnow

__all__ = ["DeliveryRun", "MailWorker", "compose", "deliver_due", "enqueue_share_mail"]

log = logging.getLogger("credreg.mail")
_T = MailDelivery.__table__


@dataclass(frozen=True)
class DeliveryRun:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    interrupted: int = 0


def _domain(settings: Settings) -> str:
    addr = settings.mail_from.rsplit("<", 1)[-1].rstrip(">")
    return addr.rpartition("@")[2] or "localhost"


def compose(
    settings: Settings, recipient: str, share_url: str, title: str, issuer: str, message_id: str
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = recipient
    msg["Subject"] = f"Your credential: {title}"
    msg["Message-ID"] = message_id
    msg["Date"] = format_datetime(datetime.now().astimezone())
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(
        f"Hello,\n\n{issuer} has issued you a credential: {title}.\n\n"
        f"See it, download it as a PDF or for your wallet, and let anyone verify it here:\n\n  {share_url}\n\n"
        "The link is private: whoever has it can see the credential, so share it only with whom you choose.\n"
    )
    return msg


def enqueue_share_mail(
    session: Session,
    settings: Settings,
    link: ShareLink,
    share_url: str,
    recipient: str,
    title: str,
    issuer: str,
) -> MailDelivery:
    """Queue one e-mail of ``share_url`` to ``recipient`` (sent by :func:`deliver_due`). Caller commits."""
    assert link.id is not None
    message_id = make_msgid(domain=_domain(settings))
    msg = compose(settings, recipient, share_url, title, issuer, message_id)
    row = MailDelivery(
        share_link_id=link.id, recipient=recipient, message_id=message_id, message=msg.as_bytes()
    )
    session.add(row)
    session.flush()
    return row


def _lease(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.smtp_timeout_seconds * 4 + 30)


def _smtp(settings: Settings) -> smtplib.SMTP:
    assert settings.smtp_host is not None
    timeout = settings.smtp_timeout_seconds
    if settings.smtp_security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
        if settings.smtp_security == "starttls":
            client.starttls(context=ssl.create_default_context())
    if settings.smtp_username:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
        client.login(settings.smtp_username, password)
    return client


def _send(settings: Settings, row: MailDelivery) -> None:
    assert row.message is not None
    with _smtp(settings) as client:
        refused = client.sendmail(_envelope_from(settings), [row.recipient], bytes(row.message))
    if refused:
        raise smtplib.SMTPRecipientsRefused(refused)


def _envelope_from(settings: Settings) -> str:
    return settings.mail_from.rsplit("<", 1)[-1].rstrip(">").strip()


def _permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return True
    code = getattr(exc, "smtp_code", None)
    return isinstance(code, int) and 500 <= code < 600


def _recover_interrupted(session: Session, now: datetime) -> int:
    res = session.execute(
        sa.update(_T)
        .where(_T.c.state == DeliveryState.sending.value, _T.c.next_attempt_at < now)
        .values(
            state=DeliveryState.failed.value,
            last_error="interrupted while sending: the server may have it, so it is not sent again",
        )
    )
    session.commit()
    return int(getattr(res, "rowcount", 0) or 0)


def _claim(session: Session, delivery_id: int, now: datetime, lease: timedelta) -> bool:
    res = session.execute(
        sa.update(_T)
        .where(_T.c.id == delivery_id, _T.c.state == DeliveryState.pending.value, _T.c.next_attempt_at <= now)
        .values(state=DeliveryState.sending.value, attempts=_T.c.attempts + 1, next_attempt_at=now + lease)
    )
    session.commit()
    return getattr(res, "rowcount", 0) == 1


def deliver_due(
    factory: Callable[[], Session], settings: Settings, *, limit: int = 50, now: datetime | None = None
) -> DeliveryRun:
    """Send every delivery that is due (up to ``limit``); each one at most once. No SMTP host: nothing to do."""
    if not settings.smtp_host:
        return DeliveryRun()
    now = now or utcnow()
    sent = retrying = failed = 0
    with factory() as session:
        interrupted = _recover_interrupted(session, now)
        due = list(
            session.exec(
                select(MailDelivery.id)
                .where(
                    MailDelivery.state == DeliveryState.pending.value,
                    col(MailDelivery.next_attempt_at) <= now,
                )
                .order_by(col(MailDelivery.id))
                .limit(limit)
            )
        )
    for delivery_id in due:
        assert delivery_id is not None
        with factory() as session:
            if not _claim(session, delivery_id, now, _lease(settings)):
                continue  # another worker has it
            row = session.get(MailDelivery, delivery_id)
            assert row is not None
            try:
                _send(settings, row)
            except (smtplib.SMTPException, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
                if _permanent(exc) or row.attempts >= settings.mail_max_attempts:
                    row.state, row.message = DeliveryState.failed.value, None
                    failed += 1
                    log.warning("mail %s to delivery %s failed for good: %s", row.message_id, row.id, error)
                else:
                    delay = settings.mail_retry_seconds * 2 ** (row.attempts - 1)
                    row.state, row.next_attempt_at = (
                        DeliveryState.pending.value,
                        utcnow() + timedelta(seconds=delay),
                    )
                    retrying += 1
                    log.info(
                        "mail %s: attempt %d failed (%s); next in %.0f s",
                        row.message_id,
                        row.attempts,
                        error,
                        delay,
                    )
                row.last_error = error
            else:
                row.state, row.sent_at, row.message, row.last_error = (
                    DeliveryState.sent.value,
                    utcnow(),
                    None,
                    None,
                )
                sent += 1
            session.add(row)
            session.commit()
    return DeliveryRun(sent, retrying, failed, interrupted)


class MailWorker:
    """Runs :func:`deliver_due` every ``mail_poll_seconds`` in a daemon thread (``credreg serve``)."""

    def __init__(self, factory: Callable[[], Session], settings: Settings) -> None:
        self._factory, self._settings = factory, settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="credreg-mail", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                deliver_due(self._factory, self._settings)
            except Exception:  # the loop must outlive a database hiccup; the row states stay consistent
                log.exception("mail delivery round failed")
            self._stop.wait(self._settings.mail_poll_seconds)
