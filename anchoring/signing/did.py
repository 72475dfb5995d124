"""DIDs and verification methods: did:key (create, resolve; offline), did:web (resolve: HTTPS GET of did.json),
and the resolver a verifier asks for the key a proof names.

A :class:`KeyResolver` turns a verification method id (a DID URL, ``did:web:uni.example#key-1``) into a
:class:`VerificationMethod` (its public key, controller and the proof purposes its DID document grants). It
raises :class:`~anchoring.errors.ResolutionError` when it could not ask (unreachable, unsupported DID method:
the verifier reports ``error``) and :class:`~anchoring.errors.FormatError` when the answer says no (no such key
in the document, a malformed document: ``fail``).

:class:`DidResolver` is the default: did:key offline, DID documents and verification methods given in advance
(its offline cache: from a bundle's ``verificationMethods``, a file of documents, or documents the node
serves), then did:web over the network unless ``fetch`` is None. Results, failures included, are cached for
the resolver's lifetime, so a run of many credentials of one issuer asks once.

Resolution proves only what the DID's controller publishes *now*. credreg's key binding is on chain
(:mod:`anchoring.signing.binding`): did:web is an extra check, never the only one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, cast
from urllib.parse import unquote

from anchoring.errors import FormatError, ResolutionError
from anchoring.signing.fetch import Fetcher, HttpFetcher, parse_json_body
from anchoring.signing.keys import PublicKey

__all__ = [
    "DID_CONTEXT",
    "MULTIKEY_CONTEXT",
    "DidResolver",
    "KeyResolver",
    "ResolveFunction",
    "VerificationMethod",
    "as_resolve",
    "did_key",
    "did_key_document",
    "did_of",
    "did_web_document",
    "did_web_url",
]

DID_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"
JWK_CONTEXT = "https://w3id.org/security/jwk/v1"
#: the verification relationships of a DID document
PURPOSES = (
    "authentication",
    "assertionMethod",
    "keyAgreement",
    "capabilityInvocation",
    "capabilityDelegation",
)
_KEY_PURPOSES = ("authentication", "assertionMethod", "capabilityInvocation", "capabilityDelegation")
#: verification method types read here (all carry an Ed25519 or P-256 key)
VM_TYPES = ("Multikey", "JsonWebKey", "JsonWebKey2020", "Ed25519VerificationKey2020")


def did_of(verification_method: str) -> str:
    """The DID of a DID URL (everything before ``#``, ``?`` or a path)."""
    did = verification_method.split("#", 1)[0].split("?", 1)[0]
    parts = did.split("/", 1)
    return parts[0]


@dataclass(frozen=True)
class VerificationMethod:
    """A public key as a DID document (or a bundle) publishes it.

    ``purposes`` is the set of verification relationships the DID document lists the method under
    (``assertionMethod`` is the one credentials need); None when the method came without its DID document
    (a bundle's ``verificationMethods``), i.e. unknown."""

    id: str
    controller: str
    type: str
    public_key: PublicKey
    purposes: frozenset[str] | None = None
    source: str = ""  # how it was found: did:key, did:web, bundle, document

    @classmethod
    def parse(
        cls, obj: Any, *, field: str = "verificationMethod", base: str | None = None, source: str = ""
    ) -> VerificationMethod:
        """Read a Multikey / JsonWebKey / JsonWebKey2020 / Ed25519VerificationKey2020 object. A relative id
        (``#key-1``) is resolved against `base` (the DID)."""
        if not isinstance(obj, dict):
            raise FormatError(field, "a verification method is a JSON object")
        vm_id, vm_type, controller = obj.get("id"), obj.get("type"), obj.get("controller")
        if not isinstance(vm_id, str) or not vm_id:
            raise FormatError(f"{field}.id", "a verification method needs an id")
        if vm_id.startswith("#") and base:
            vm_id = base + vm_id
        if not isinstance(vm_type, str) or vm_type not in VM_TYPES:
            raise FormatError(
                f"{field}.type", f"unsupported verification method type {vm_type!r}: {', '.join(VM_TYPES)}"
            )
        if controller is None:
            controller = did_of(vm_id)
        if not isinstance(controller, str):
            raise FormatError(f"{field}.controller", "the controller is a DID string")
        if "publicKeyMultibase" in obj:
            key = PublicKey.from_multibase(obj["publicKeyMultibase"], f"{field}.publicKeyMultibase")
        elif "publicKeyJwk" in obj:
            jwk = obj["publicKeyJwk"]
            if isinstance(jwk, dict) and "d" in jwk:
                raise FormatError(f"{field}.publicKeyJwk", "a published key must not carry its secret (d)")
            key = PublicKey.from_jwk(jwk, f"{field}.publicKeyJwk")
        else:
            raise FormatError(field, "a verification method needs publicKeyMultibase or publicKeyJwk")
        return cls(vm_id, controller, vm_type, key, None, source)

    def with_purposes(self, purposes: Iterable[str], source: str | None = None) -> VerificationMethod:
        return VerificationMethod(
            self.id, self.controller, self.type, self.public_key, frozenset(purposes), source or self.source
        )

    def to_multikey(self) -> dict[str, str]:
        """The method as a Multikey object (what a bundle's ``verificationMethods`` holds)."""
        return {
            "id": self.id,
            "type": "Multikey",
            "controller": self.controller,
            "publicKeyMultibase": self.public_key.multibase,
        }


class KeyResolver(Protocol):
    """Verification method id -> :class:`VerificationMethod` (see the module docstring for the errors)."""

    def resolve(self, verification_method: str) -> VerificationMethod: ...


#: a bare function works wherever a KeyResolver is asked for
ResolveFunction = Callable[[str], VerificationMethod]


def as_resolve(resolver: KeyResolver | ResolveFunction) -> ResolveFunction:
    """The resolve function of a KeyResolver, or the function itself."""
    method = getattr(resolver, "resolve", None)
    if callable(method):
        return cast(ResolveFunction, method)
    assert callable(resolver)
    return resolver


# ---------------------------------------------------------------------------------------------- did:key
def did_key(public_key: PublicKey | str) -> str:
    """The did:key of a public key (or of its ``publicKeyMultibase``): ``did:key:z6Mk…``."""
    multibase = (
        public_key.multibase
        if isinstance(public_key, PublicKey)
        else PublicKey.from_multibase(public_key).multibase
    )
    return "did:key:" + multibase


def did_key_document(did: str) -> dict[str, Any]:
    """The DID document of a did:key (did:key method, Multikey form): one verification method
    ``did:key:z…#z…`` listed under every key relationship. FormatError for a malformed did:key."""
    if not isinstance(did, str) or not did.startswith("did:key:"):
        raise FormatError("did", f"{did!r:.80} is not a did:key")
    multibase = did[len("did:key:") :]
    key = PublicKey.from_multibase(multibase, "did")
    if key.multibase != multibase:
        raise FormatError("did", "not the canonical did:key of its key")
    vm_id = f"{did}#{multibase}"
    doc: dict[str, Any] = {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": [
            {"id": vm_id, "type": "Multikey", "controller": did, "publicKeyMultibase": multibase}
        ],
    }
    for purpose in _KEY_PURPOSES:
        doc[purpose] = [vm_id]
    return doc


# ---------------------------------------------------------------------------------------------- did:web
def did_web_url(did: str, scheme: str = "https") -> str:
    """Where a did:web's document lives (did:web method spec): ``did:web:uni.example`` ->
    ``https://uni.example/.well-known/did.json``; ``did:web:uni.example:issuers:law`` ->
    ``https://uni.example/issuers/law/did.json``; a port is percent-encoded (``uni.example%3A8443``)."""
    if not isinstance(did, str) or not did.startswith("did:web:") or len(did) == len("did:web:"):
        raise FormatError("did", f"{did!r:.80} is not a did:web")
    parts = did[len("did:web:") :].split(":")
    host = unquote(parts[0])
    if not host or any(c in host for c in "/?#@ ") or any(not p for p in parts[1:]):
        raise FormatError("did", f"{did!r:.80} is not a valid did:web")
    path = "/".join(unquote(p) for p in parts[1:])
    return f"{scheme}://{host}/{path}/did.json" if path else f"{scheme}://{host}/.well-known/did.json"


def did_web_document(
    did: str, verification_methods: Iterable[VerificationMethod | dict[str, Any]]
) -> dict[str, Any]:
    """A DID document for a did:web issuer (what the node serves at :func:`did_web_url`): the methods given,
    as Multikeys, listed under ``assertionMethod`` and ``authentication``."""
    vms = [
        vm if isinstance(vm, VerificationMethod) else VerificationMethod.parse(vm, base=did)
        for vm in verification_methods
    ]
    ids = [vm.id for vm in vms]
    return {
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": [vm.to_multikey() for vm in vms],
        "assertionMethod": list(ids),
        "authentication": list(ids),
    }


# ---------------------------------------------------------------------------------------------- resolver
def methods_of_document(document: Any, did: str, source: str) -> dict[str, VerificationMethod]:
    """The verification methods of a DID document, by absolute id, each with the purposes it is listed under."""
    if not isinstance(document, dict):
        raise FormatError(did, "a DID document is a JSON object")
    if document.get("id") != did:
        raise FormatError(
            f"{did}.id", f"the document served for {did} names itself {document.get('id')!r:.80}"
        )
    found: dict[str, VerificationMethod] = {}
    listed: dict[str, set[str]] = {}
    embedded: list[tuple[str, Any]] = []
    for purpose in PURPOSES:
        entries = document.get(purpose, [])
        if not isinstance(entries, list):
            raise FormatError(f"{did}.{purpose}", "must be a list")
        for entry in entries:
            if isinstance(entry, str):
                listed.setdefault(did + entry if entry.startswith("#") else entry, set()).add(purpose)
            elif isinstance(entry, dict):  # an embedded method is listed under this purpose
                embedded.append((purpose, entry))
    vms = document.get("verificationMethod", [])
    if not isinstance(vms, list):
        raise FormatError(f"{did}.verificationMethod", "must be a list")
    for i, obj in enumerate(vms):
        try:
            vm = VerificationMethod.parse(
                obj, field=f"{did}.verificationMethod[{i}]", base=did, source=source
            )
        except FormatError:
            continue  # a key type this verifier does not read cannot be the one a proof names; skip it
        found[vm.id] = vm
    for purpose, obj in embedded:
        try:
            vm = VerificationMethod.parse(obj, field=f"{did}.{purpose}", base=did, source=source)
        except FormatError:
            continue
        found.setdefault(vm.id, vm)
        listed.setdefault(vm.id, set()).add(purpose)
    return {vm_id: vm.with_purposes(listed.get(vm_id, ())) for vm_id, vm in found.items()}


class DidResolver:
    """The default :class:`KeyResolver`: did:key offline; documents and methods given in advance (the offline
    cache); did:web through `fetch` (None: never go to the network). Answers and failures are cached.

        resolver = DidResolver(verification_methods=bundle["verificationMethods"])   # + did:web over HTTPS
        resolver = DidResolver(fetch=None)                                            # offline only
    """

    def __init__(
        self,
        *,
        documents: Iterable[dict[str, Any]] = (),
        verification_methods: Iterable[dict[str, Any] | VerificationMethod] = (),
        fetch: Fetcher | bool | None = True,
        did_web_scheme: str = "https",
    ) -> None:
        """``fetch``: a :class:`~anchoring.signing.fetch.Fetcher` for did:web, True for the default
        (:class:`HttpFetcher`, HTTPS only), None/False for none. ``did_web_scheme="http"`` is for tests against
        a local server only."""
        if fetch is True:
            fetch = HttpFetcher(https_only=did_web_scheme == "https")
        self._fetch: Fetcher | None = fetch or None
        self._scheme = did_web_scheme
        self._documents: dict[str, dict[str, VerificationMethod] | ResolutionError | FormatError] = {}
        self._methods: dict[str, VerificationMethod] = {}
        for doc in documents:
            self.add_document(doc)
        for vm in verification_methods:
            self.add_verification_method(vm)

    @property
    def online(self) -> bool:
        return self._fetch is not None

    def add_document(self, document: dict[str, Any], source: str = "document") -> None:
        """Cache a DID document (its ``id`` is the DID), e.g. one the node serves or a file of documents."""
        did = document.get("id") if isinstance(document, dict) else None
        if not isinstance(did, str):
            raise FormatError("id", "a DID document needs its DID as id")
        self._documents[did] = methods_of_document(document, did, source)

    def add_verification_method(
        self, vm: dict[str, Any] | VerificationMethod, source: str = "bundle"
    ) -> None:
        """Cache a single method (a bundle's ``verificationMethods`` entry): used before any document."""
        parsed = vm if isinstance(vm, VerificationMethod) else VerificationMethod.parse(vm, source=source)
        self._methods[parsed.id] = parsed

    def known(self, verification_method: str) -> VerificationMethod | None:
        """The method from the offline cache and did:key alone (no network); None when not known offline."""
        if verification_method in self._methods:
            return self._methods[verification_method]
        did = did_of(verification_method)
        if did.startswith("did:key:"):
            return self.resolve(verification_method)
        cached = self._documents.get(did)
        if isinstance(cached, dict):
            return cached.get(verification_method)
        return None

    def document_methods(self, did: str) -> dict[str, VerificationMethod]:
        """The methods of `did`'s DID document (did:key built, did:web fetched once), by id."""
        cached = self._documents.get(did)
        if cached is None:
            try:
                cached = self._load(did)
            except (ResolutionError, FormatError) as exc:
                cached = exc
            self._documents[did] = cached
        if isinstance(cached, (ResolutionError, FormatError)):
            raise cached
        return cached

    def _load(self, did: str) -> dict[str, VerificationMethod]:
        if did.startswith("did:key:"):
            return methods_of_document(did_key_document(did), did, "did:key")
        if did.startswith("did:web:"):
            url = did_web_url(did, self._scheme)
            if self._fetch is None:
                raise ResolutionError(url, f"{did} not resolved: the verifier runs offline")
            return methods_of_document(parse_json_body(self._fetch(url)), did, "did:web")
        method = ":".join(did.split(":")[:2])
        raise ResolutionError(did, f"the DID method {method} is not supported (did:key, did:web)")

    def resolve(self, verification_method: str) -> VerificationMethod:
        if verification_method in self._methods:
            return self._methods[verification_method]
        did = did_of(verification_method)
        methods = self.document_methods(did)
        vm = methods.get(verification_method)
        if vm is None:
            raise FormatError(
                "verificationMethod", f"{did}'s DID document has no verification method {verification_method}"
            )
        return vm

    def resolve_document_method(self, verification_method: str) -> VerificationMethod:
        """Like :meth:`resolve`, but always from the DID document (did:key, cached or fetched did:web), never
        from a method given alone: the "extra check" of a bundle's method against what its DID publishes."""
        did = did_of(verification_method)
        vm = self.document_methods(did).get(verification_method)
        if vm is None:
            raise FormatError(
                "verificationMethod", f"{did}'s DID document has no verification method {verification_method}"
            )
        return vm

    def with_methods(
        self, verification_methods: Iterable[dict[str, Any] | VerificationMethod], source: str = "bundle"
    ) -> DidResolver:
        """A resolver that also knows `verification_methods` (a bundle's), sharing this one's fetcher and its
        document cache (did:web documents fetched through either are fetched once)."""
        other = DidResolver(fetch=self._fetch, did_web_scheme=self._scheme)
        other._documents = self._documents
        other._methods = dict(self._methods)
        for vm in verification_methods:
            other.add_verification_method(vm, source)
        return other
