"""Naming an RPC endpoint without its secrets: providers put API keys in the URL's path, query or user info, so
reports, pages, logs and errors name an endpoint only through these functions."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["redact", "redact_url", "secret_parts"]


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


def secret_parts(url: str) -> list[str]:
    """The parts of ``url`` that :func:`redact` hides wherever they appear alone (query, user info, path), longest
    first; empty for a URL that does not parse."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    secrets = [parts.query, parts.username or "", parts.password or ""]
    if parts.path.strip("/"):
        secrets.append(parts.path.rstrip("/"))
    return sorted((x for x in secrets if len(x) >= 2), key=len, reverse=True)


def redact(text: str, *urls: str | None) -> str:
    """``text`` with every secret part of each endpoint URL gone: the whole URL becomes :func:`redact_url` of it,
    and its path, query and user info, wherever they appear alone (HTTP libraries print ``url: /v3/<key>`` apart
    from the host), become ``…``. The one scrubber for reports, pages, logs and errors that may quote an error;
    it changes nothing in a text that holds neither a URL nor any of its :func:`secret_parts`."""
    for url in urls:
        if not url:
            continue
        text = text.replace(url, redact_url(url))
        for secret in secret_parts(url):
            text = text.replace(secret, "…")
    return text
