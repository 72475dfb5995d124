"""Secrets never reach a log: :func:`redact_logs` makes every log record of the process pass through
:func:`anchoring.chain.rpc.redact` for the node's endpoint URLs (an RPC URL's path is where providers put API keys),
whichever logger made it and whatever handler writes it; the message, its arguments and any traceback text.

Installed once per process by the app factory and the CLI; calling it again adds URLs (idempotent per URL).
"""

from __future__ import annotations

import logging
from typing import Any

from anchoring.chain.endpoint import redact

__all__ = ["redact_logs"]

_urls: set[str] = set()
_installed = False


def redact_logs(*urls: str | None) -> None:
    """Scrub ``urls`` (None and empty ones skipped) from every log record created from now on."""
    global _installed
    _urls.update(u for u in urls if u)
    if _installed or not _urls:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is the logger's to report, as before
            return record
        clean = redact(message, *_urls)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[0] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            clean = redact(text, *_urls)
            if (
                clean != text
            ):  # formatters print exc_text when it is set, instead of formatting exc_info again
                record.exc_text = clean
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
