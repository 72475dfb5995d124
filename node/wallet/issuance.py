"""The OpenID4VCI 1.0 credential issuer: metadata, the JWT proof of possession, the credential formats,
immediate and deferred issuance.

Credential configurations (``credential_configurations_supported``):

``eu_microcredential_sd_jwt``  ``dc+sd-jwt``: an SD-JWT VC (``vct`` :data:`VCT`) whose selectively disclosable
                               claims are the EU micro-credential elements (Annex I part I) the
                               ``eu-microcredential`` profile finds in the stored credential, each under its
                               element key with the value found; plain: ``credreg_digest`` (the anchored
                               digest: docs/scheme.md section 9), ``cnf.jwk`` (the proof's key), ``status``.
``w3c_ldp_vc``                 ``ldp_vc``: the stored credential exactly as anchored, when the node stores it
                               signed (Data Integrity ``proof``); no holder binding (the bytes are anchored).
``w3c_vc_jwt``                 ``jwt_vc_json``: the stored VC-JWT exactly as anchored (digest rule ``compact``),
                               or, for a credential stored unsigned, a VC-JWT signed on delivery by the issuer's
                               key with ``cnf.jwk`` and ``credreg_digest``.

The issuer's key is ``node.auth.credential_keys.load_credential_signer`` (through ``api.deps``); an issuer
without one is offered only the forms it stores signed.

A credential request names one configuration of its offer and carries one JWT proof
(``typ: openid4vci-proof+jwt``, the holder key as ``jwk`` or a ``did:key`` ``kid``, ``aud`` = the credential
issuer, a fresh ``iat``, and a ``c_nonce`` from the nonce endpoint, spent by this proof). Until the credential's
batch is anchored the answer is a ``transaction_id`` for the deferred credential endpoint.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from anchoring.errors import FormatError, ResolutionError
from anchoring.scheme.digest import DigestRule
from anchoring.signing import CredentialSigner, DidResolver, PublicKey, issue_sd_jwt_vc, sign_vc_jwt
from anchoring.signing.sdjwt import decode_jws, verify_jws
from anchoring.signing.vcjwt import decode_vc_jwt
from node.errors import OAuthError
from node.issuance.profiles import evaluate_profile
from node.settings import Settings
from node.storage.models import Credential, CredentialStatus, Issuer, utcnow
from node.storage.revocation_tables import CredentialStatusState
from node.storage.wallet_tables import WalletDeferred, WalletOffer, WalletToken
from node.wallet.oauth import authenticate, hash_secret, new_secret, spend_nonce

__all__ = [
    "CONFIGURATIONS",
    "LDP_VC",
    "SD_JWT",
    "VCT",
    "VC_JWT",
    "CredentialOutcome",
    "SignerFor",
    "authorization_server_metadata",
    "configurations_for",
    "deferred_credential",
    "issuer_metadata",
    "request_credential",
    "sd_jwt_claims",
    "stored_form",
    "verify_proof",
]

SD_JWT = "eu_microcredential_sd_jwt"
LDP_VC = "w3c_ldp_vc"
VC_JWT = "w3c_vc_jwt"
#: the SD-JWT VC type of a credreg EU micro-credential (a URN: stable across nodes)
VCT = "urn:credreg:vct:eu-microcredential:1"
PROOF_TYP = "openid4vci-proof+jwt"
PROOF_ALGS = ["ES256", "EdDSA"]
SIGNING_ALGS = ["EdDSA", "ES256"]
PROOF_MAX_AGE = 300
LEEWAY = 60

SignerFor = Callable[[Issuer], CredentialSigner]

_PROOF_TYPES = {"jwt": {"proof_signing_alg_values_supported": PROOF_ALGS}}
CONFIGURATIONS: dict[str, dict[str, Any]] = {
    SD_JWT: {
        "format": "dc+sd-jwt",
        "vct": VCT,
        "scope": "eu_microcredential",
        "cryptographic_binding_methods_supported": ["jwk"],
        "credential_signing_alg_values_supported": SIGNING_ALGS,
        "proof_types_supported": _PROOF_TYPES,
        "credential_metadata": {
            "display": [{"name": "EU micro-credential (selective disclosure)", "locale": "en"}]
        },
    },
    LDP_VC: {
        "format": "ldp_vc",
        "credential_definition": {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
        },
        "credential_signing_alg_values_supported": ["eddsa-rdfc-2022", "eddsa-jcs-2022"],
        "credential_metadata": {"display": [{"name": "Verifiable credential, as anchored", "locale": "en"}]},
    },
    VC_JWT: {
        "format": "jwt_vc_json",
        "credential_definition": {"type": ["VerifiableCredential"]},
        "cryptographic_binding_methods_supported": ["jwk"],
        "credential_signing_alg_values_supported": SIGNING_ALGS,
        "proof_types_supported": _PROOF_TYPES,
        "credential_metadata": {"display": [{"name": "Verifiable credential (VC-JWT)", "locale": "en"}]},
    },
}


def issuer_metadata(credential_issuer: str) -> dict[str, Any]:
    """``/.well-known/openid-credential-issuer`` (OID4VCI 1.0 section 12.2)."""
    return {
        "credential_issuer": credential_issuer,
        "credential_endpoint": f"{credential_issuer}/oid4vci/credential",
        "nonce_endpoint": f"{credential_issuer}/oid4vci/nonce",
        "deferred_credential_endpoint": f"{credential_issuer}/oid4vci/deferred-credential",
        "display": [{"name": "credreg node", "locale": "en"}],
        "credential_configurations_supported": CONFIGURATIONS,
    }


def authorization_server_metadata(credential_issuer: str) -> dict[str, Any]:
    """``/.well-known/oauth-authorization-server`` (RFC 8414): the pre-authorized code flow only."""
    return {
        "issuer": credential_issuer,
        "token_endpoint": f"{credential_issuer}/oid4vci/token",
        "grant_types_supported": ["urn:ietf:params:oauth:grant-type:pre-authorized_code"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
        "pre-authorized_grant_anonymous_access_supported": True,
    }


def stored_form(cred: Credential) -> dict[str, Any] | str:
    """The credential as the node stores (and anchored) it: a JSON object, or a VC-JWT string (rule compact)."""
    raw = bytes(cred.canonical)
    if cred.digest_rule == DigestRule.COMPACT.value:
        return raw.decode("ascii")
    loaded: dict[str, Any] = json.loads(raw)
    return loaded


def _payload(stored: dict[str, Any] | str) -> dict[str, Any]:
    return decode_vc_jwt(stored)[1] if isinstance(stored, str) else stored


def configurations_for(stored: dict[str, Any] | str, *, signs: bool) -> list[str]:
    """The configuration ids a stored credential can be issued as: the SD-JWT VC and a VC-JWT made on
    delivery need the issuer's signing key (`signs`); a stored signed form is delivered as it is."""
    out = [SD_JWT] if signs else []
    if isinstance(stored, str):
        return [*out, VC_JWT]
    if "proof" in stored:
        return [*out, LDP_VC]
    return [*out, VC_JWT] if signs else out


def _pointer(doc: Any, pointer: str) -> Any:
    node = doc
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def sd_jwt_claims(credential: dict[str, Any], digest: str) -> tuple[dict[str, Any], list[str]]:
    """(claims, disclosable names) of the SD-JWT form: one claim per EU micro-credential element found."""
    report = evaluate_profile("eu-microcredential", credential)
    claims: dict[str, Any] = {}
    if report is not None:
        for key, ptr in report.found.items():
            claims[key] = _pointer(credential, ptr)
    disclosable = list(claims)
    claims["credreg_digest"] = digest
    return claims, disclosable


def _status(credential: dict[str, Any]) -> dict[str, Any] | None:
    entries = credential.get("credentialStatus")
    entries = entries if isinstance(entries, list) else [entries] if isinstance(entries, dict) else []
    bitstring = [e for e in entries if isinstance(e, dict) and e.get("type") == "BitstringStatusListEntry"]
    return {"bitstring_status_list": bitstring} if bitstring else None


# ------------------------------------------------------------------------------------------ proof of possession
def verify_proof(jwt: Any, audience: str, now: int | None = None) -> tuple[PublicKey, Any]:
    """(holder key, nonce claim) of a JWT proof; ``invalid_proof`` OAuthError when it does not hold."""
    fld = "body.proofs.jwt"
    if not isinstance(jwt, str):
        raise OAuthError("invalid_proof", "the jwt proof must be a compact JWT string", fld)
    try:
        header, payload, signing_input, signature = decode_jws(jwt.strip(), "proof JWT")
    except FormatError as exc:
        raise OAuthError("invalid_proof", str(exc), fld) from None
    if header.get("typ") != PROOF_TYP:
        raise OAuthError("invalid_proof", f"the proof JWT's typ must be {PROOF_TYP}", fld)
    jwk, kid = header.get("jwk"), header.get("kid")
    try:
        if isinstance(jwk, dict):
            if "d" in jwk:
                raise OAuthError("invalid_proof", "the proof's jwk holds a private key", fld)
            key = PublicKey.from_jwk(jwk, "jwk")
        elif isinstance(kid, str) and kid.startswith("did:key:"):
            key = DidResolver(fetch=None).resolve(kid if "#" in kid else f"{kid}#{kid[8:]}").public_key
        else:
            raise OAuthError("invalid_proof", "the proof JWT names its key by jwk or a did:key kid", fld)
    except (FormatError, ResolutionError) as exc:
        raise OAuthError("invalid_proof", f"the proof's key is unusable: {exc}", fld) from None
    bad = verify_jws(header, signing_input, signature, key)
    if bad:
        raise OAuthError("invalid_proof", f"proof JWT: {bad} with the key it names", fld)
    aud = payload.get("aud")
    if not (aud == audience or (isinstance(aud, list) and audience in aud)):
        raise OAuthError("invalid_proof", f"the proof's aud must be the credential issuer {audience}", fld)
    now = int(time.time()) if now is None else now
    iat = payload.get("iat")
    if not isinstance(iat, int) or iat > now + LEEWAY or iat < now - PROOF_MAX_AGE:
        raise OAuthError("invalid_proof", f"the proof's iat must be within the last {PROOF_MAX_AGE} s", fld)
    return key, payload.get("nonce")


# ------------------------------------------------------------------------------------------- issuance
@dataclass
class CredentialOutcome:
    """Either the credentials (``[{"credential": …}]``) or a ``transaction_id`` with its poll interval."""

    credentials: list[dict[str, Any]] = field(default_factory=list)
    transaction_id: str | None = None
    interval: int | None = None

    def body(self) -> dict[str, Any]:
        if self.transaction_id is not None:
            return {"transaction_id": self.transaction_id, "interval": self.interval}
        return {"credentials": self.credentials}


def _proof_jwt(body: dict[str, Any]) -> Any:
    proofs = body.get("proofs")
    if proofs is not None:
        jwts = proofs.get("jwt") if isinstance(proofs, dict) else None
        if not isinstance(jwts, list) or len(jwts) != 1 or len(proofs) != 1:
            raise OAuthError(
                "invalid_proof", "send exactly one proof: proofs: {jwt: [<proof JWT>]}", "body.proofs"
            )
        return jwts[0]
    proof = body.get("proof")
    if isinstance(proof, dict) and proof.get("proof_type") == "jwt":
        return proof.get("jwt")
    raise OAuthError(
        "invalid_proof", "the request carries no proof of possession (proofs.jwt)", "body.proofs"
    )


def _load(session: Session, offer: WalletOffer) -> tuple[Credential, Issuer]:
    cred = session.get(Credential, offer.credential_id)
    issuer = session.get(Issuer, offer.issuer_id)
    assert cred is not None and issuer is not None  # foreign keys
    state = session.exec(
        select(CredentialStatusState).where(col(CredentialStatusState.credential_id) == cred.id)
    ).first()
    if state is not None and "valid" not in (state.target, state.confirmed):
        raise OAuthError("credential_request_denied", f"the credential is {state.confirmed}", "")
    return cred, issuer


def _build(
    cred: Credential, issuer: Issuer, config: str, holder: dict[str, Any], signer_for: SignerFor
) -> str | dict[str, Any]:
    stored = stored_form(cred)
    if config == LDP_VC or (config == VC_JWT and isinstance(stored, str)):
        return stored  # the anchored form itself
    credential = _payload(stored)
    signer = signer_for(issuer)
    if config == VC_JWT:
        return sign_vc_jwt(credential, signer, claims={"cnf": {"jwk": holder}, "credreg_digest": cred.digest})
    claims, disclosable = sd_jwt_claims(credential, cred.digest)
    return issue_sd_jwt_vc(
        claims, signer, vct=VCT, disclosable=disclosable, holder_jwk=holder, status=_status(credential)
    )


def request_credential(
    session: Session,
    settings: Settings,
    *,
    token: str | None,
    body: Any,
    credential_issuer: str,
    signer_for: SignerFor,
) -> CredentialOutcome:
    """The credential endpoint: token, request, proof, nonce; then the credential or a transaction id."""
    tok, offer = _authenticated(session, token)
    if not isinstance(body, dict):
        raise OAuthError("invalid_credential_request", "the credential request is a JSON object", "body")
    config = body.get("credential_configuration_id")
    if not isinstance(config, str):
        raise OAuthError(
            "invalid_credential_request",
            "credential_configuration_id is required",
            "body.credential_configuration_id",
        )
    if config not in offer.configurations.split():
        raise OAuthError(
            "unknown_credential_configuration",
            f"this offer is for {', '.join(offer.configurations.split())}, not {config!r:.80}",
            "body.credential_configuration_id",
        )
    key, nonce = verify_proof(_proof_jwt(body), credential_issuer)
    spend_nonce(session, nonce)
    cred, issuer = _load(session, offer)
    if cred.status != CredentialStatus.anchored.value:
        transaction = new_secret()
        assert tok.id is not None
        session.add(
            WalletDeferred(
                token_id=tok.id,
                transaction_hash=hash_secret(transaction),
                configuration=config,
                holder_jwk=json.dumps(key.jwk),
            )
        )
        session.commit()
        return CredentialOutcome(
            transaction_id=transaction, interval=settings.oid4vci_deferred_interval_seconds
        )
    return CredentialOutcome([{"credential": _build(cred, issuer, config, key.jwk, signer_for)}])


def deferred_credential(
    session: Session,
    settings: Settings,
    *,
    token: str | None,
    body: Any,
    signer_for: SignerFor,
) -> CredentialOutcome:
    """The deferred credential endpoint: the credential once anchored (then the transaction id is spent)."""
    tok, offer = _authenticated(session, token)
    transaction = body.get("transaction_id") if isinstance(body, dict) else None
    if not isinstance(transaction, str) or not transaction:
        raise OAuthError("invalid_credential_request", "transaction_id is required", "body.transaction_id")
    row = session.exec(
        select(WalletDeferred).where(
            WalletDeferred.transaction_hash == hash_secret(transaction), WalletDeferred.token_id == tok.id
        )
    ).first()
    if row is None or row.issued_at is not None:
        raise OAuthError(
            "invalid_transaction_id", "unknown or already delivered transaction_id", "body.transaction_id"
        )
    cred, issuer = _load(session, offer)
    if cred.status != CredentialStatus.anchored.value:
        return CredentialOutcome(
            transaction_id=transaction, interval=settings.oid4vci_deferred_interval_seconds
        )
    credential = _build(cred, issuer, row.configuration, json.loads(row.holder_jwk), signer_for)
    row.issued_at = utcnow()
    session.add(row)
    session.commit()
    return CredentialOutcome([{"credential": credential}])


def _authenticated(session: Session, token: str | None) -> tuple[WalletToken, WalletOffer]:
    return authenticate(session, token)
