"""JSON-LD for ``eddsa-rdfc-2022``: the contexts credreg supports, bundled as package data and never fetched
from the network, and RDF Dataset Canonicalization (RDFC-1.0) through ``pyld``.

A document naming any other remote context is refused with :class:`UnknownContext` (a FormatError naming the
URL). *Safe mode*, as the W3C Data Integrity libraries (jsonld.js ``safe: true``) apply it: a term no context
defines, or a relative IRI (a ``type`` value no context maps), is an error (:class:`UndefinedTerm`), never
silently dropped, so a signature can never cover less than the document shows. pyld 3.3 has no safe mode (its
``safe`` option is ignored), so it is done here, by hand: the document is expanded with a catch-all
``@vocab`` and ``@base`` of our own in front of its contexts, and the expansion must use neither (it is then
the document's own expansion, which is what gets canonicalised: one expansion per canonicalisation). (A context that
resets the active context with ``null`` would hide terms from the probe; none of the bundled contexts does.)

pyld calls the algorithm ``URDNA2015``; RDFC-1.0 is its standardised name (same output).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import unquote

from anchoring.errors import FormatError

__all__ = [
    "BUNDLED_CONTEXTS",
    "UndefinedTerm",
    "UnknownContext",
    "bundled_context",
    "document_loader",
    "loader_with",
    "rdf_canonicalize",
]

#: context URL -> file in anchoring/signing/contexts/ (sources and licences: contexts/SOURCES.md)
BUNDLED_CONTEXTS: dict[str, str] = {
    "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
    "https://www.w3.org/2018/credentials/v1": "credentials-v1.jsonld",
    "https://www.w3.org/ns/credentials/examples/v2": "credentials-examples-v2.jsonld",
    "https://www.w3.org/ns/credentials/undefined-terms/v2": "credentials-undefined-terms-v2.jsonld",
    "https://w3id.org/security/data-integrity/v2": "data-integrity-v2.jsonld",
    "https://w3id.org/security/data-integrity/v1": "data-integrity-v1.jsonld",
    "https://w3id.org/security/multikey/v1": "multikey-v1.jsonld",
    "https://w3id.org/security/suites/ed25519-2020/v1": "ed25519-2020-v1.jsonld",
    "https://www.w3.org/ns/credentials/status/v1": "bitstring-status-list-v1.jsonld",
    "https://www.w3.org/ns/did/v1": "did-v1.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json": "ob-v3p0-context-3.0.1.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json": "ob-v3p0-context-3.0.2.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob-v3p0-context-3.0.3.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context.json": "ob-v3p0-context.jsonld",
    "http://data.europa.eu/snb/model/context/edc-ap": "elm-edc-ap-context.jsonld",
}


class UnknownContext(FormatError):
    """A JSON-LD context (or other remote document) that is not bundled: never fetched. ``url`` names it."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            "@context",
            f"unknown JSON-LD context {url}: only bundled contexts are used (never fetched); "
            f"supported: {', '.join(sorted(BUNDLED_CONTEXTS))}",
        )


@cache
def _load_bundled(url: str) -> dict[str, Any] | None:
    name = BUNDLED_CONTEXTS.get(url)
    if name is None:
        return None
    text = resources.files("anchoring.signing").joinpath("contexts", name).read_text("utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def bundled_context(url: str) -> dict[str, Any] | None:
    """A copy of the bundled context document for `url`, or None when not bundled."""
    doc = _load_bundled(url)
    return copy.deepcopy(doc) if doc is not None else None


def document_loader(url: str, options: Any = None) -> dict[str, Any]:
    """A pyld document loader serving only the bundled contexts; anything else raises :class:`UnknownContext`."""
    doc = _load_bundled(url)
    if doc is None:
        raise UnknownContext(url)
    # "static": pyld then caches the processed context by URL across calls (without it, every document pays
    # for processing, and canonicalising for its cache key, the 14 KB Open Badges context again)
    return {"contextUrl": None, "documentUrl": url, "document": doc, "tag": "static"}


def _cause(exc: BaseException) -> BaseException | None:
    """The first UnknownContext (or other FormatError) in pyld's chain of wrapped errors."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, FormatError):
            return cur
        details = getattr(cur, "details", None)
        if isinstance(details, dict):
            stack.extend(v for v in details.values() if isinstance(v, BaseException))
        stack += [cur.__cause__, cur.__context__]
    return None


def loader_with(contexts: Mapping[str, Any] | None) -> Callable[..., dict[str, Any]]:
    """A document loader serving `contexts` (URL -> context document, given by the caller: still never fetched)
    before the bundled ones."""
    if not contexts:
        return document_loader

    def load(url: str, options: Any = None) -> dict[str, Any]:
        if url in contexts and url not in BUNDLED_CONTEXTS:  # a bundled context is never replaced
            # no "static" tag: the caller's contexts are not cached across calls
            return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(contexts[url])}
        return document_loader(url)

    return load


class UndefinedTerm(FormatError):
    """A term no context defines, or a relative IRI: JSON-LD would drop it from what is signed."""

    def __init__(self, terms: list[str], relative: list[str]) -> None:
        self.terms = terms
        self.relative = relative
        parts = []
        if terms:
            parts.append(f"undefined JSON-LD terms {', '.join(terms)}")
        if relative:
            parts.append(f"relative IRIs {', '.join(relative)}")
        super().__init__(
            terms[0] if terms else "@context",
            "; ".join(parts)
            + ": add a context that defines them (they would not be covered by the signature)",
        )


_PROBE_VOCAB = "urn:credreg:undefined-term:"
_PROBE_BASE = "https://relative-iri.credreg.invalid/"
_PROBE_TERM = re.compile(re.escape(_PROBE_VOCAB) + r'([^"\\]*)')
_PROBE_RELATIVE = re.compile(re.escape(_PROBE_BASE) + r'([^"\\]*)')


def _expand_defined(document: dict[str, Any], loader: Callable[..., dict[str, Any]]) -> Any:
    """The document expanded with the probe (catch-all ``@vocab`` and ``@base`` of our own in front of its
    contexts); :class:`UndefinedTerm` when the expansion used either. When it did not, the probe changed
    nothing: this *is* the document's expansion, and canonicalising it needs no context processing again."""
    from pyld import jsonld

    ctx = document.get("@context")
    ctx_list = ctx if isinstance(ctx, list) else ([] if ctx is None else [ctx])
    probe = dict(document)
    probe["@context"] = [{"@vocab": _PROBE_VOCAB}, *ctx_list]
    expanded = jsonld.expand(probe, {"documentLoader": loader, "base": _PROBE_BASE})
    text = json.dumps(expanded)
    if _PROBE_VOCAB not in text and _PROBE_BASE not in text:
        return expanded
    terms = sorted({unquote(t) for t in _PROBE_TERM.findall(text)})
    relative = sorted({unquote(t) for t in _PROBE_RELATIVE.findall(text)})
    raise UndefinedTerm(terms, relative)


def rdf_canonicalize(document: dict[str, Any], contexts: Mapping[str, Any] | None = None) -> bytes:
    """RDFC-1.0 canonical N-Quads (UTF-8) of a JSON-LD document, with bundled contexts only (plus `contexts`,
    URL -> document, that the caller holds) and safe mode on.

    :class:`UnknownContext` for a context that is not bundled; :class:`UndefinedTerm` for a term or type no
    context defines (safe mode); :class:`FormatError` for anything else pyld refuses (an invalid context)."""
    from pyld import jsonld  # imported on first use: pyld (with lxml) is heavy for a verifier's start-up

    loader = loader_with(contexts)
    options = {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": loader}
    try:
        nquads = jsonld.normalize(_expand_defined(document, loader), options)
    except jsonld.JsonLdError as exc:
        cause = _cause(exc)
        if cause is not None:
            raise cause from None
        raise FormatError("@context", f"JSON-LD processing failed: {_describe(exc)}") from None
    return str(nquads).encode("utf-8")


def _describe(exc: Any) -> str:
    parts = [str(getattr(exc, "message", "") or exc)]
    details = getattr(exc, "details", None)
    if isinstance(details, dict):
        parts += [
            f"{key}: {details[key]}"
            for key in ("event", "term", "property", "context", "code")
            if key in details and not isinstance(details[key], (dict, list, BaseException))
        ]
        event = details.get("event")
        if isinstance(event, dict) and isinstance(event.get("details"), dict):
            for k, v in event["details"].items():
                if isinstance(v, str):
                    parts.append(f"{k}: {v}")
    return "; ".join(p for p in parts if p)[:300]
