"""Verifying an SD-JWT VC presentation (``dc+sd-jwt``, as a wallet presents what a credreg node issued over
OpenID4VCI), with or without a key-binding JWT.

Checks, in order (each pass / fail / error with a reason):

``format``          an SD-JWT VC: header ``typ``, ``vct``, disclosures that decode
``signature``       the issuer signature (``kid`` resolved: did:key offline, did:web over HTTPS) and, once the
                    anchor is known, that key bound to the anchoring issuer in the IssuerRegistry at the anchoring
                    block (as for a signed W3C credential)
``disclosures``     every presented disclosure is listed in ``_sd`` once; details list what was disclosed and
                    how many claims were withheld
``key_binding``     a KB-JWT signed by ``cnf.jwk`` over this presentation (``sd_hash``), fresh ``iat``, and the
                    verifier's ``aud`` / ``nonce`` when given; a presentation without one passes with a reason
                    saying so, unless ``require_key_binding``
``validity_period`` ``exp`` / ``nbf``
``inclusion``, ``anchored``, ``issuer_trusted``, ``not_revoked``
                    of ``credreg_digest`` (the anchored digest the SD-JWT names: docs/scheme.md section 9), its
                    proof looked up at ``node`` or given as ``proof``; as in a bundle report
``status_list``     the Bitstring Status List entries of ``status.bitstring_status_list``: list fetched, signed by
                    a key of the anchoring issuer, equal to its on-chain hash, bit clear

Without an anchor the verdict is ``signed-not-anchored`` when the rest passes (as for a plain VC).
"""

from __future__ import annotations

from typing import Any

from anchoring.bundle import Inclusion
from anchoring.bundle import v2 as bundle_v2
from anchoring.errors import ChainError, FormatError, ResolutionError
from anchoring.scheme.digest import DigestRule
from anchoring.scheme.encoding import from_hex, to_hex
from anchoring.signing.binding import check_key_binding
from anchoring.signing.sdjwt import SdJwtCheck, decode_jws, is_sd_jwt, parse_sd_jwt, verify_sd_jwt_vc
from anchoring.verify.checks import (
    AnchorEvidence,
    Evidence,
    _chain_error,
    _key_lookup,
    check_anchored,
    check_inclusion,
    check_issuer_trusted,
    check_not_revoked,
    check_status_list,
)
from anchoring.verify.context import ChainContext
from anchoring.verify.nodeproof import inclusion_from_proof
from anchoring.verify.report import ERROR, FAIL, PASS, Check, VerificationReport, skipped
from anchoring.verify.run import _prefetch
from anchoring.verify.securing import SD_JWT as SD_JWT_FORM
from anchoring.verify.securing import Secured
from anchoring.verify.web import WebContext

__all__ = ["DIGEST_CLAIM", "is_sd_jwt", "sd_jwt_digest", "verify_sd_jwt_presentation"]

#: the SD-JWT claim naming the anchored digest
DIGEST_CLAIM = "credreg_digest"


def sd_jwt_digest(text: str) -> str | None:
    """The anchored digest an SD-JWT names (``credreg_digest``, 0x hex), unverified; None when it names none."""
    jwt, _, _ = parse_sd_jwt(text)
    value = decode_jws(jwt, "issuer-signed JWT")[1].get(DIGEST_CLAIM)
    return value if isinstance(value, str) else None


def _status(ev: Evidence, sd: SdJwtCheck, chain: ChainContext | None) -> Check:
    """The Bitstring Status List entries the SD-JWT's ``status`` names (docs/scheme.md section 9), checked as a
    signed credential's ``credentialStatus`` is: list fetched, signature, on-chain hash, bit."""
    if not sd.valid:
        return skipped("status_list", ["signature"])
    status = sd.payload.get("status")
    entries = status.get("bitstring_status_list") if isinstance(status, dict) else None
    if status is not None and not isinstance(entries, list):
        return Check(
            "status_list", ERROR, "status names no bitstring_status_list: not checked by this verifier"
        )
    ev.secured = Secured(SD_JWT_FORM, {"credentialStatus": entries or []})
    return check_status_list(ev, chain)


def _format_failure(reason: str) -> VerificationReport:
    return VerificationReport([Check("format", FAIL, reason, {"field": ""})], {})


def verify_sd_jwt_presentation(
    text: str,
    chain: ChainContext | None,
    *,
    node: str | None = None,
    proof: Any = None,
    web: WebContext | None = None,
    audience: str | None = None,
    nonce: str | None = None,
    require_key_binding: bool = False,
) -> VerificationReport:
    """The report of one SD-JWT VC presentation (see the module docstring)."""
    web = web or WebContext()
    try:
        parse_sd_jwt(text)
    except FormatError as exc:
        return _format_failure(f"not an SD-JWT: {exc}")
    try:
        sd = verify_sd_jwt_vc(
            text.strip(),
            web.resolver_for(()),
            audience=audience,
            nonce=nonce,
            require_key_binding=require_key_binding,
        )
    except FormatError as exc:
        return _format_failure(f"not an SD-JWT VC: {exc}")
    checks = _offline_checks(sd)
    held = text.strip()
    ev = Evidence(held, bundle=_bundle(held, None, None), plain=True, web=web)
    summary: dict[str, Any] = {
        "form": "dc+sd-jwt",
        "vct": sd.vct,
        "issuer": sd.payload.get("iss"),
        "disclosed": sorted(sd.disclosed),
        "withheld": sd.undisclosed,
    }
    raw_digest = sd.payload.get(DIGEST_CLAIM)
    digest: bytes | None = None
    if isinstance(raw_digest, str):
        try:
            digest = from_hex(raw_digest)
        except ValueError:
            digest = None
    if digest is None or len(digest) != 32:
        summary["anchor"] = f"the SD-JWT names no anchored digest ({DIGEST_CLAIM})"
        return VerificationReport([*checks, _status(ev, sd, chain)], summary, anchor_found=False)
    summary["digest"] = to_hex(digest)

    inclusion: Inclusion | None = None
    try:
        if proof is not None:
            inclusion = inclusion_from_proof(proof)
        elif node is not None:
            found = web.node_proof(node, to_hex(digest))
            inclusion = inclusion_from_proof(found) if found is not None else None
    except (ResolutionError, FormatError) as exc:
        checks.append(Check("anchored", ERROR, f"could not get the anchor proof: {exc}", {"node": node}))
        return VerificationReport(checks, summary, anchor_found=False)
    if inclusion is None:
        summary["anchor"] = "no anchor found" + (
            f" at node {node}" if node else ": no node and no proof given"
        )
        return VerificationReport(checks, summary, anchor_found=False)
    if chain is None:
        checks.append(
            Check("anchored", ERROR, "anchored per the proof, but no chain to check it against (--rpc)")
        )
        return VerificationReport(checks, summary)

    bundle = _bundle(held, digest, inclusion)
    ev = Evidence(bundle, bundle=bundle, plain=True, web=web)
    ev.anchors = [AnchorEvidence(inclusion)]
    ev.add(check_inclusion(ev))
    _prefetch([ev], chain)
    for check in (check_anchored, check_issuer_trusted, check_not_revoked):
        ev.add(check(ev, chain))
    checks = [c if c.name != "signature" else _bound(c, sd, ev.anchors[0], chain) for c in checks]
    checks += [ev.checks[n] for n in ("inclusion", "anchored", "issuer_trusted", "not_revoked")]
    checks.append(_status(ev, sd, chain))
    summary.update({k: v for k, v in ev.summary.items() if k not in summary})
    return VerificationReport(checks, summary)


def _bundle(held: str, digest: bytes | None, inclusion: Inclusion | None) -> bundle_v2.ProofBundle:
    """The SD-JWT as the holder of the anchored digest it names, for the shared chain and status checks."""
    return bundle_v2.ProofBundle(
        credential=held,
        digest_rule=DigestRule.COMPACT,
        digest=digest or bytes(32),
        inclusions=(inclusion,) if inclusion else (),
    )


def _offline_checks(sd: SdJwtCheck) -> list[Check]:
    """format, signature, disclosures, key_binding, validity_period: the failing step fails, the ones after it
    are skipped (they depend on it), an unresolvable key is an error."""
    method = sd.method.id if sd.method else None
    fmt = Check("format", PASS, "an SD-JWT VC (dc+sd-jwt)", {"vct": sd.vct})
    if sd.failed == "format":
        return [Check("format", FAIL, sd.reason, {"field": "header"})]
    if sd.failed == "signature":
        status = ERROR if sd.error else FAIL
        return [fmt, Check("signature", status, sd.reason), skipped("disclosures", ["signature"])]
    sig = Check("signature", PASS, f"signed by {method}", {"verification_method": method})
    if sd.failed == "validity_period":
        return [fmt, sig, Check("validity_period", FAIL, sd.reason)]
    validity = Check("validity_period", PASS, "within exp / nbf (when given)")
    if sd.failed == "disclosures":
        return [fmt, sig, Check("disclosures", FAIL, sd.reason), validity]
    disc = _disclosures(sd, PASS)
    if sd.failed == "key_binding":
        return [fmt, sig, disc, Check("key_binding", FAIL, sd.reason), validity]
    if sd.key_binding:
        kb = Check(
            "key_binding",
            PASS,
            "the holder signed this presentation with the key in cnf (sd_hash, iat, and aud / nonce when given)",
            {"aud": sd.kb_payload.get("aud"), "nonce": sd.kb_payload.get("nonce")},
        )
    else:
        kb = Check(
            "key_binding", PASS, "no key-binding JWT presented: this presentation is not bound to a holder"
        )
    return [fmt, sig, disc, kb, validity]


def _disclosures(sd: SdJwtCheck, status: str) -> Check:
    return Check(
        "disclosures",
        status,
        f"{len(sd.disclosed)} claim(s) disclosed, {sd.undisclosed} withheld",
        {"disclosed": sd.disclosed, "withheld": sd.undisclosed},
    )


def _bound(check: Check, sd: SdJwtCheck, ae: AnchorEvidence, chain: ChainContext) -> Check:
    """The signature check, once anchored: the key must be registered for the anchoring issuer."""
    if check.status != PASS or sd.method is None:
        return check
    if ae.record is None or ae.contracts is None:
        return skipped("signature", ["anchored"])
    try:
        binding = check_key_binding(
            _key_lookup(chain, ae.contracts), ae.record.issuer, sd.method.public_key, ae.record.block_number
        )
    except ChainError as exc:
        return _chain_error("signature", exc, chain)
    details = {"verification_method": sd.method.id, **binding.details()}
    if binding.bound:
        return Check("signature", PASS, f"{check.reason}; {binding.reason}", details)
    return Check(
        "signature",
        FAIL,
        f"the signature verifies, but its key is not bound to the anchoring issuer: {binding.reason}",
        details,
    )
