"""Signing and verifying W3C Verifiable Credentials, and binding issuer keys to the registry.

This is the public, stable API of ``anchoring.signing`` (the node and third parties import from here; the
submodules' other names may change). Everything here is offline and synchronous, except did:web resolution
and fetching, which go through a :class:`Fetcher` (``httpx`` by default, short timeouts).

Keys (:mod:`.keys`, :mod:`.multikey`)
    ``CredentialSigner``   the protocol every signing backend implements: ``verification_method`` (DID URL),
                           ``key_type`` (``KeyType.ED25519`` | ``KeyType.P256``), ``public_key_multibase``,
                           ``public_jwk``, ``sign(data) -> bytes`` (Ed25519: RFC 8032 signature of data;
                           P-256: ECDSA SHA-256, raw ``r || s``). The node's keystore/env/HSM backends
                           implement it; nothing here ever sees a secret of theirs.
    ``LocalSigner``        an in-memory key on ``cryptography``: ``generate(KeyType)``,
                           ``from_private_bytes``, ``from_secret_multibase``, ``from_jwk``,
                           ``with_verification_method("did:web:…#key-1")``, ``export_private_bytes()``.
    ``PublicKey``          a verifier's key: ``from_multibase`` / ``from_jwk``, ``.multibase``, ``.jwk``,
                           ``.thumbprint``, ``.key_hash``, ``verify(data, signature)``.
    ``key_hash(mb)``       ``keccak256(UTF-8(publicKeyMultibase))``: the IssuerRegistry's keyHash.

DIDs (:mod:`.did`)
    ``did_key(key)``, ``did_key_document(did)``; ``did_web_url(did)``, ``did_web_document(did, methods)`` (what
    a node serves); ``VerificationMethod`` (``parse``, ``to_multikey``); ``KeyResolver`` (the protocol:
    ``resolve(vm_id) -> VerificationMethod``) and ``DidResolver`` (did:key offline, an offline cache of
    documents and methods, did:web over HTTPS unless ``fetch=None``).

Securing mechanisms
    Data Integrity (:mod:`.dataintegrity`): ``add_proof(doc, signer, cryptosuite="eddsa-jcs-2022" |
    "eddsa-rdfc-2022")`` (a second call makes a proof set), ``verify_proofs(doc, resolver) -> [ProofCheck]``.
    VC-JWT (:mod:`.vcjwt`): ``sign_vc_jwt(credential, signer) -> str``, ``verify_vc_jwt(token, resolver) ->
    JwtCheck``, ``decode_vc_jwt``, ``envelope`` / ``unenvelope`` (EnvelopedVerifiableCredential).
    SD-JWT VC (:mod:`.sdjwt`): ``issue_sd_jwt_vc(claims, signer, vct=…, disclosable=[…], holder_jwk=…,
    status=…) -> str`` (``typ: dc+sd-jwt``), ``present_sd_jwt(sd, disclose, holder=…, audience=…, nonce=…)``,
    ``verify_sd_jwt_vc(text, resolver, audience=…, nonce=…) -> SdJwtCheck`` (``.disclosed``, ``.key_binding``).
    JSON-LD (:mod:`.jsonld`): bundled contexts only (``BUNDLED_CONTEXTS``), ``rdf_canonicalize``; an unbundled
    context is ``UnknownContext`` (a FormatError; ``.url`` names it), a term no context defines is
    ``UndefinedTerm`` (``.terms``; safe mode: never dropped from what is signed). Both come from
    ``add_proof(..., cryptosuite="eddsa-rdfc-2022")`` too; a VC 1.1 document gets the Data Integrity context.

Accepting a credential that arrives already signed: ``verify_proofs(doc, DidResolver(fetch=None))`` (or
``verify_vc_jwt``), then compare each valid result's ``method.public_key.multibase`` with the issuer's keys:
resolution alone accepts any did:key.

Key binding (:mod:`.binding`)
    ``check_key_binding(lookup, issuer_address, key, block) -> KeyBinding``: the key is registered for the
    anchoring issuer and valid at the anchoring block.

Errors: malformed input is :class:`~anchoring.errors.FormatError` (``fail``); a document that could not be
fetched is :class:`~anchoring.errors.ResolutionError` (``error``).

Example (sign with an in-memory key, verify offline)::

    from anchoring.signing import LocalSigner, DidResolver, add_proof, verify_proofs, sign_vc_jwt, verify_vc_jwt
    signer = LocalSigner.generate()                       # did:key Ed25519
    signed = add_proof(credential, signer, cryptosuite="eddsa-rdfc-2022")
    assert all(p.valid for p in verify_proofs(signed, DidResolver(fetch=None)))
    token = sign_vc_jwt(credential, signer)
    assert verify_vc_jwt(token, DidResolver(fetch=None)).valid
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from anchoring.lazy import lazy_exports

_EXPORTS: dict[str, str | tuple[str, str]] = {
    "CredentialSigner": "anchoring.signing.keys",
    "KeyType": "anchoring.signing.multikey",
    "LocalSigner": "anchoring.signing.keys",
    "PublicKey": "anchoring.signing.keys",
    "key_hash": "anchoring.signing.keys",
    "signer_controller": "anchoring.signing.keys",
    "encode_public_multikey": "anchoring.signing.multikey",
    "decode_public_multikey": "anchoring.signing.multikey",
    "DidResolver": "anchoring.signing.did",
    "KeyResolver": "anchoring.signing.did",
    "VerificationMethod": "anchoring.signing.did",
    "did_key": "anchoring.signing.did",
    "did_key_document": "anchoring.signing.did",
    "did_of": "anchoring.signing.did",
    "did_web_document": "anchoring.signing.did",
    "did_web_url": "anchoring.signing.did",
    "Fetched": "anchoring.signing.fetch",
    "Fetcher": "anchoring.signing.fetch",
    "HttpFetcher": "anchoring.signing.fetch",
    "OfflineFetcher": "anchoring.signing.fetch",
    "CRYPTOSUITES": "anchoring.signing.dataintegrity",
    "EDDSA_JCS_2022": "anchoring.signing.dataintegrity",
    "EDDSA_RDFC_2022": "anchoring.signing.dataintegrity",
    "ProofCheck": "anchoring.signing.dataintegrity",
    "add_proof": "anchoring.signing.dataintegrity",
    "proofs_of": "anchoring.signing.dataintegrity",
    "verify_proofs": "anchoring.signing.dataintegrity",
    "JwtCheck": "anchoring.signing.vcjwt",
    "VC_JWT_MEDIA_TYPE": ("anchoring.signing.vcjwt", "MEDIA_TYPE"),
    "decode_vc_jwt": "anchoring.signing.vcjwt",
    "envelope": "anchoring.signing.vcjwt",
    "is_compact_jws": "anchoring.signing.vcjwt",
    "sign_vc_jwt": "anchoring.signing.vcjwt",
    "unenvelope": "anchoring.signing.vcjwt",
    "verify_vc_jwt": "anchoring.signing.vcjwt",
    "BUNDLED_CONTEXTS": "anchoring.signing.jsonld",
    "UnknownContext": "anchoring.signing.jsonld",
    "UndefinedTerm": "anchoring.signing.jsonld",
    "rdf_canonicalize": "anchoring.signing.jsonld",
    "SdJwtCheck": "anchoring.signing.sdjwt",
    "SD_JWT_VC_TYP": "anchoring.signing.sdjwt",
    "is_sd_jwt": "anchoring.signing.sdjwt",
    "issue_sd_jwt_vc": "anchoring.signing.sdjwt",
    "present_sd_jwt": ("anchoring.signing.sdjwt", "present"),
    "verify_sd_jwt_vc": "anchoring.signing.sdjwt",
    "KeyBinding": "anchoring.signing.binding",
    "check_key_binding": "anchoring.signing.binding",
}

__all__ = [
    "BUNDLED_CONTEXTS",
    "CRYPTOSUITES",
    "EDDSA_JCS_2022",
    "EDDSA_RDFC_2022",
    "SD_JWT_VC_TYP",
    "VC_JWT_MEDIA_TYPE",
    "CredentialSigner",
    "DidResolver",
    "Fetched",
    "Fetcher",
    "HttpFetcher",
    "JwtCheck",
    "KeyBinding",
    "KeyResolver",
    "KeyType",
    "LocalSigner",
    "OfflineFetcher",
    "ProofCheck",
    "PublicKey",
    "SdJwtCheck",
    "UndefinedTerm",
    "UnknownContext",
    "VerificationMethod",
    "add_proof",
    "check_key_binding",
    "decode_public_multikey",
    "decode_vc_jwt",
    "did_key",
    "did_key_document",
    "did_of",
    "did_web_document",
    "did_web_url",
    "encode_public_multikey",
    "envelope",
    "is_compact_jws",
    "is_sd_jwt",
    "issue_sd_jwt_vc",
    "key_hash",
    "present_sd_jwt",
    "proofs_of",
    "rdf_canonicalize",
    "sign_vc_jwt",
    "signer_controller",
    "unenvelope",
    "verify_proofs",
    "verify_sd_jwt_vc",
    "verify_vc_jwt",
]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from anchoring.signing.binding import KeyBinding, check_key_binding
    from anchoring.signing.dataintegrity import (
        CRYPTOSUITES,
        EDDSA_JCS_2022,
        EDDSA_RDFC_2022,
        ProofCheck,
        add_proof,
        proofs_of,
        verify_proofs,
    )
    from anchoring.signing.did import (
        DidResolver,
        KeyResolver,
        VerificationMethod,
        did_key,
        did_key_document,
        did_of,
        did_web_document,
        did_web_url,
    )
    from anchoring.signing.fetch import Fetched, Fetcher, HttpFetcher, OfflineFetcher
    from anchoring.signing.jsonld import BUNDLED_CONTEXTS, UndefinedTerm, UnknownContext, rdf_canonicalize
    from anchoring.signing.keys import CredentialSigner, LocalSigner, PublicKey, key_hash, signer_controller
    from anchoring.signing.multikey import KeyType, decode_public_multikey, encode_public_multikey
    from anchoring.signing.sdjwt import (
        SD_JWT_VC_TYP,
        SdJwtCheck,
        is_sd_jwt,
        issue_sd_jwt_vc,
        verify_sd_jwt_vc,
    )
    from anchoring.signing.sdjwt import present as present_sd_jwt
    from anchoring.signing.vcjwt import MEDIA_TYPE as VC_JWT_MEDIA_TYPE
    from anchoring.signing.vcjwt import (
        JwtCheck,
        decode_vc_jwt,
        envelope,
        is_compact_jws,
        sign_vc_jwt,
        unenvelope,
        verify_vc_jwt,
    )
