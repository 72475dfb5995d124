"""Real HTTP servers for tests: uvicorn in a thread around an app, for clients that speak HTTP (the `credreg` CLI),
and a base for the small standard-library handlers that play endpoints, proxies and web servers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

from node.dev.chains import free_port


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve ``app`` on a free local port for the duration of the block; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 15
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class QuietHandler(BaseHTTPRequestHandler):
    """A test server's request handler: no access log on stderr, and :meth:`reply` for an answer with a body."""

    def reply(self, status: int, body: bytes, content_type: str | None = None) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass
