"""The node's two roles as processes: stateless API workers (uvicorn, the ``api.app:create_app_from_env`` factory)
and the pipeline (``credreg pipeline``: batcher, anchorer + revoker + status-list publisher under the key's lease,
indexer). ``credreg serve --workers N`` runs the first, ``credreg pipeline`` the second, ``credreg dev`` both.

Child processes get their settings as ``CREDREG_*`` environment variables (``settings_env``), never on a command
line (``ps`` shows command lines); API workers get no key material at all."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from pydantic import SecretStr

from node.settings import Settings

log = logging.getLogger("credreg.roles")

#: settings an API worker never needs (key material)
_KEY_FIELDS = frozenset(
    {"issuer_keystore", "issuer_keystore_password", "issuer_keystore_password_file", "issuer_private_key"}
)


def settings_env(settings: Settings, *, keys: bool) -> dict[str, str]:
    """``CREDREG_*`` variables that rebuild ``settings`` in a child process (``keys``: with the signing key's)."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None or (not keys and name in _KEY_FIELDS):
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, Path):
            value = str(value)
        env[f"CREDREG_{name.upper()}"] = str(value)
    return env


def child_env(settings: Settings, *, keys: bool) -> dict[str, str]:
    """The environment of a child process: ours without other ``CREDREG_*`` values, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDREG_")}
    env["CREDREG_ENV_FILE"] = os.devnull  # everything comes from the variables below
    env.update(settings_env(settings, keys=keys))
    return env


class PipelineProcess:
    """``credreg pipeline`` as a child process with ``settings`` (for ``credreg dev`` and ``serve --pipeline``)."""

    def __init__(self, settings: Settings):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "node.cli", "pipeline"], env=child_env(settings, keys=True)
        )

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # releases its leases and heartbeat row
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_api(settings: Settings, workers: int) -> None:
    """Serve the API until interrupted: one uvicorn process, or a uvicorn supervisor with ``workers`` worker
    processes importing ``api.app:create_app_from_env`` (settings from the environment)."""
    import uvicorn

    if workers <= 1:
        from api.app import create_app, freeze_startup_heap

        app = create_app(settings)
        freeze_startup_heap()
        uvicorn.run(
            app, host=settings.host, port=settings.port, log_level="info", access_log=settings.access_log
        )
        return
    os.environ.update(child_env(settings, keys=False))
    for name in _KEY_FIELDS:
        os.environ.pop(f"CREDREG_{name.upper()}", None)
    uvicorn.run(
        "api.app:create_app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level="info",
        access_log=settings.access_log,
        # the supervisor restarts a worker that misses its health pings; a worker still importing on a busy
        # machine is not dead (the default 5 s restarted them in a loop at load 15 on 2 cores)
        timeout_worker_healthcheck=60,
    )


def run_pipeline_until_stopped(runtime, stop: threading.Event | None = None) -> None:
    """Start ``runtime``'s pipeline and block until SIGTERM / SIGINT (or ``stop``), then stop it cleanly (leases
    released, heartbeat row removed)."""
    stop = stop or threading.Event()

    def handler(signum, _frame):
        log.info("signal %s: stopping the pipeline", signum)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    runtime.start_pipeline()
    mailer = None
    if runtime.settings.smtp_host:
        # e-mails to learners are background work too: the pipeline process sends them (node/learners/mail.py)
        from node.learners.mail import MailWorker

        mailer = MailWorker(runtime.factory, runtime.settings)
        mailer.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        if mailer is not None:
            mailer.stop()
        runtime.close()
