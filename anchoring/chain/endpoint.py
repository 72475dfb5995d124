"""Naming an RPC endpoint without its secrets: providers put API keys in the URL's path, query or user info, so
reports, pages, logs and errors name an endpoint only through these two functions."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["redact", "redact_url"]


def redact_url(url: str | None) -> str:
    """``scheme://host[:port]`` of an endpoint URL, without user info, path, query or fragment (where providers
    put API keys); ``"the RPC endpoint"`` when there is nothing to show."""
    if not url:
        return "the RPC endpoint"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the RPC endpoint"
    if not parts.scheme or not host:
        return "the RPC endpoint"
    hidden = "/…" if (parts.path.strip("/") or parts.query or parts.username) else ""
    return f"{parts.scheme}://{host}{port}{hidden}"


def redact(text: str, *urls: str | None) -> str:
    """``text`` with every secret part of each endpoint URL gone: the whole URL becomes :func:`redact_url` of it,
    and its path, query and user info, wherever they appear alone (HTTP libraries print ``url: /v3/<key>`` apart
    from the host), become ``…``. The one scrubber for reports, pages, logs and errors that may quote an error."""
    for url in urls:
        if not url:
            continue
        text = text.replace(url, redact_url(url))
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        secrets = [parts.query, parts.username or "", parts.password or ""]
        if parts.path.strip("/"):
            secrets.append(parts.path.rstrip("/"))
        for secret in sorted((x for x in secrets if len(x) >= 2), key=len, reverse=True):
            text = text.replace(secret, "…")
    return text
