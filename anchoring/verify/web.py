"""What a verification run asks the web, beside the chain: DID documents (did:web), status list credentials and,
for a plain credential, a node's public proof. One :class:`WebContext` per run, cached like the chain context:
each URL is fetched once, and a failure is remembered (a dead status list host costs one timeout, not one per
credential). Offline (``WebContext.offline()``, ``credreg verify --offline``): nothing is fetched but from a node named
explicitly, so did:web keys must come from the bundle and status lists are reported as ``error`` (not
checked), never as "not revoked".

Tests point it at a local server by passing a :class:`~anchoring.signing.fetch.Fetcher` (or ``HttpFetcher``
with http allowed, the default), and ``did_web_scheme="http"``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

from anchoring.errors import FormatError, ResolutionError
from anchoring.signing.did import DidResolver, VerificationMethod
from anchoring.signing.fetch import Fetched, Fetcher, HttpFetcher, NotFound, OfflineFetcher, parse_json_body
from anchoring.signing.vcjwt import is_compact_jws
from anchoring.verify.blocking import may_block

__all__ = ["WebContext"]


class WebContext:
    """Fetcher + DID resolver + clock for one verification run (see the module docstring)."""

    def __init__(
        self,
        *,
        fetch: Fetcher | None = None,
        resolver: DidResolver | None = None,
        did_web_scheme: str = "https",
        now: Callable[[], float] = time.time,
        contexts: Mapping[str, Any] | None = None,
        timeout: float = 5.0,
        node_fetch: Fetcher | None = None,
    ) -> None:
        """``fetch``: how documents are fetched (default :class:`HttpFetcher`, HTTPS or HTTP, ``timeout``
        seconds); ``resolver``: the DID resolver (default: did:key, and did:web through ``fetch``); ``now``:
        the clock of the validity-period check; ``contexts``: extra JSON-LD contexts the caller holds;
        ``node_fetch``: how a node named explicitly (``node=``, ``--node``) is asked, even offline (default:
        ``fetch``, or HTTP when ``fetch`` fetches nothing)."""
        self.fetch: Fetcher = fetch if fetch is not None else HttpFetcher(timeout=timeout)
        self.online = not isinstance(self.fetch, OfflineFetcher)
        self.node_fetch: Fetcher = node_fetch or (self.fetch if self.online else HttpFetcher(timeout=timeout))
        self.resolver = resolver or DidResolver(
            fetch=self._fetch_did if self.online else None, did_web_scheme=did_web_scheme
        )
        self.now = now
        self.contexts = contexts
        self._documents: dict[str, Any] = {}

    def _fetch_did(self, url: str) -> Fetched:
        may_block()
        return self.fetch(url)

    @classmethod
    def offline(cls, **kw: Any) -> WebContext:
        """A context that fetches nothing."""
        return cls(fetch=OfflineFetcher(), **kw)

    def timestamp(self) -> int:
        return int(self.now())

    def resolver_for(
        self, verification_methods: Iterable[dict[str, Any] | VerificationMethod]
    ) -> DidResolver:
        """The run's resolver plus a bundle's ``verificationMethods`` (FormatError names a malformed one)."""
        methods = []
        for i, vm in enumerate(verification_methods):
            if isinstance(vm, VerificationMethod):
                methods.append(vm)
                continue
            try:
                methods.append(
                    VerificationMethod.parse(vm, field=f"verificationMethods[{i}]", source="bundle")
                )
            except FormatError as exc:
                raise FormatError(exc.field, exc.reason) from None
        return self.resolver.with_methods(methods)

    def _get(self, url: str, fetch: Fetcher | None = None) -> Fetched:
        hit = self._documents.get(url)
        if hit is None:
            may_block()
            try:
                hit = (fetch or self.fetch)(url)
            except ResolutionError as exc:
                hit = exc
            self._documents[url] = hit
        if isinstance(hit, ResolutionError):
            raise hit
        assert isinstance(hit, Fetched)
        return hit

    def status_list(self, url: str) -> dict[str, Any] | str:
        """The status list credential at `url`: a JSON object (Data Integrity) or a VC-JWT string.
        ResolutionError when it could not be fetched; FormatError when the body is neither."""
        fetched = self._get(url)
        text = fetched.body.decode("utf-8", errors="replace").strip()
        if fetched.content_type in ("application/vc+jwt", "application/jwt") or is_compact_jws(text):
            return text
        doc = parse_json_body(fetched)
        if not isinstance(doc, dict):
            raise FormatError(url, "a status list credential is a JSON object or a VC-JWT")
        return doc

    def node_proof(self, node: str, digest_hex: str) -> dict[str, Any] | None:
        """A node's public proof of `digest_hex` (``GET {node}/v1/proofs/{digest}``), or None when the node
        does not know the digest (404). ResolutionError when the node could not be asked."""
        url = node.rstrip("/") + "/v1/proofs/" + quote(digest_hex)
        try:
            fetched = self._get(url, self.node_fetch)
        except NotFound:
            return None
        doc = parse_json_body(fetched)
        if not isinstance(doc, dict):
            raise FormatError(url, "the node's proof is not a JSON object")
        return doc
