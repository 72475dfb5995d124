"""Ethereum JSON-RPC requests without web3: what the standalone verifier's reads go through.

:class:`JsonRpc` posts one request at a time over a kept-alive ``http.client`` connection (the standard library:
web3 with its provider stack takes 0.6 s to import, more than the rest of a one-file ``credreg verify``), or hands
it to a web3-style provider's ``make_request(method, params)`` when one is given (the node's circuit-breaking
provider, a test's counting one). Failures arrive as the library's ChainErrors, as from
:func:`anchoring.chain.rpc.call_chain`: :class:`ChainUnreachable` (nobody answers), :class:`ContractRevert` (a call
reverted, decoded from the contracts' ABIs), :class:`ChainRequestFailed` (any other error answer, or an answer that
is not JSON-RPC). Messages name the endpoint only as :func:`~anchoring.chain.endpoint.redact_url` does.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import sys
import threading
from typing import Any, Protocol
from urllib.parse import SplitResult, urlsplit, urlunsplit

from anchoring.chain.endpoint import redact_url
from anchoring.chain.revert import decode_revert, revert_data
from anchoring.errors import ChainRequestFailed, ChainUnreachable

__all__ = ["JsonRpc", "Provider"]

#: the JSON-RPC error code of a reverted eth_call (EIP-1474); some nodes answer -32000/-32015 with revert data
_EXECUTION_REVERTED = 3


class Provider(Protocol):
    """A web3-style provider: the whole JSON-RPC response of one request, as a dict."""

    def make_request(self, method: Any, params: Any) -> Any: ...


class JsonRpc:
    """One endpoint: ``request(method, params)`` gives the ``result`` or raises a ChainError."""

    def __init__(
        self, url: str, timeout: float = 10.0, provider: Provider | None = None, label: str | None = None
    ):
        self.url = url
        self.timeout = timeout
        self.provider = provider
        self.label = label or redact_url(url)
        self._ids = itertools.count(1)
        self._local = threading.local()  # one connection per thread: http.client connections are not shared
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ChainUnreachable(f"{self.label} is not an http(s) URL")
        self._parts = parts
        self._proxy = _proxy_for(parts) if provider is None else None  # a provider has its own transport
        self._headers = {"Content-Type": "application/json"}
        if parts.username:  # user info in the URL is HTTP Basic authentication, as requests reads it
            self._headers["Authorization"] = _basic(parts.username, parts.password)
        if self._proxy is not None and parts.scheme == "http":  # a forward proxy reads it from each request
            self._headers.update(_proxy_auth(self._proxy))

    def request(self, method: str, params: list[Any]) -> Any:
        answer = self._send(method, params)
        if not isinstance(answer, dict):
            raise ChainRequestFailed(f"{self.label} answered {method} with something that is not JSON-RPC")
        error = answer.get("error")
        if error is not None:
            raise self._error(error)
        if "result" not in answer:
            raise ChainRequestFailed(f"{self.label} answered {method} with neither a result nor an error")
        return answer["result"]

    def _error(self, error: Any) -> Exception:
        if not isinstance(error, dict):
            return ChainRequestFailed(f"{self.label} answered with an error: {str(error)[:300]}")
        message = str(error.get("message") or error)[:300]
        data = revert_data(error.get("data"))
        if data is not None or error.get("code") == _EXECUTION_REVERTED:
            revert = decode_revert(data)
            if data is None and message:
                revert.args = (f"{revert.error}: {message}",)
            return revert
        return ChainRequestFailed(f"{self.label} answered with an error: {message}")

    # -- transport -------------------------------------------------------------------------------
    def _send(self, method: str, params: list[Any]) -> Any:
        if self.provider is not None:
            try:
                return self.provider.make_request(method, params)
            except _unreachable_errors() as exc:
                raise ChainUnreachable(f"cannot reach {self.label}: {type(exc).__name__}") from exc
        body = json.dumps({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params})
        for attempt in (1, 2):  # a kept-alive connection the server closed meanwhile is opened once more
            connection = self._connection()
            try:
                connection.request("POST", self._path(), body, self._headers)
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                self._local.connection = None
                if attempt == 1 and isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError):
                    continue
                raise ChainUnreachable(f"cannot reach {self.label}: {type(exc).__name__}") from exc
            break
        if response.status != 200:
            raise ChainRequestFailed(f"{self.label} answered HTTP {response.status}")
        try:
            return json.loads(payload)
        except ValueError:
            raise ChainRequestFailed(f"{self.label} answered with something that is not JSON") from None

    def _path(self) -> str:
        path = self._parts.path or "/"
        path = f"{path}?{self._parts.query}" if self._parts.query else path
        if self._proxy is not None and self._parts.scheme == "http":  # a forward proxy takes the whole URL
            return f"http://{self._parts.hostname}:{self._parts.port or 80}{path}"
        return path

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is not None and self._local.pid != os.getpid():
            connection = None  # a forked child never shares its parent's socket: it opens its own
        if connection is None:
            host, port = self._parts.hostname or "", self._parts.port
            proxy = self._proxy
            if proxy is not None:  # the proxy is who we connect to; https goes through a CONNECT tunnel
                host, port = proxy.hostname or "", proxy.port or 8080
            if self._parts.scheme == "https":
                import ssl  # only https endpoints pay for it

                connection = http.client.HTTPSConnection(
                    host, port, timeout=self.timeout, context=ssl.create_default_context(cafile=_ca_bundle())
                )
                if proxy is not None:
                    connection.set_tunnel(
                        self._parts.hostname or "", self._parts.port or 443, _proxy_auth(proxy)
                    )
            else:
                connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
            self._local.connection, self._local.pid = connection, os.getpid()
        return connection


def _proxy_for(parts: SplitResult) -> SplitResult | None:
    """The HTTP proxy the environment names for this endpoint (``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY``,
    minus ``NO_PROXY``), as requests, which web3 used, honours them; None for a direct connection."""
    if not any(name.lower() in ("http_proxy", "https_proxy", "all_proxy") for name in os.environ):
        return None
    import urllib.request  # only when a proxy is configured at all

    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    proxies = urllib.request.getproxies()
    url = proxies.get(parts.scheme) or proxies.get("all")
    if not url:
        return None
    proxy = urlsplit(url if "://" in url else f"http://{url}")
    if proxy.scheme != "http" or not proxy.hostname:
        raise ChainUnreachable(f"the proxy for {redact_url(urlunsplit(parts))} is not an http:// proxy")
    return proxy


def _ca_bundle() -> str | None:
    """The CA certificates requests (and so web3) trusted: ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``, else
    certifi's bundle; None (the system's) only where certifi is not installed."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        import certifi
    except ImportError:  # pragma: no cover - installed with requests, which web3 needs
        return None
    found: str = certifi.where()
    return found


def _proxy_auth(proxy: SplitResult) -> dict[str, str]:
    return {"Proxy-Authorization": _basic(proxy.username, proxy.password)} if proxy.username else {}


def _basic(username: str | None, password: str | None) -> str:
    from base64 import b64encode
    from urllib.parse import unquote

    secret = f"{unquote(username or '')}:{unquote(password or '')}".encode()
    return "Basic " + b64encode(secret).decode("ascii")


def _unreachable_errors() -> tuple[type[BaseException], ...]:
    # requests' ConnectionError and Timeout derive from OSError; urllib3's and aiohttp's may not: taken from
    # whichever of them a provider has imported, without importing them here
    found: tuple[type[BaseException], ...] = (OSError, TimeoutError)
    for module, names in (
        ("requests.exceptions", ("ConnectionError", "Timeout")),
        ("aiohttp", ("ClientError",)),
    ):
        loaded = sys.modules.get(module)
        if loaded is not None:
            found += tuple(getattr(loaded, n) for n in names if hasattr(loaded, n))
    return found
