"""W3C VC-API endpoints, so the W3C test suites (VC 2.0, Bitstring Status List) can drive the node.

* ``POST /credentials/issue`` (issuer token): ``{"credential": {...}, "options": {"cryptosuite"?}}`` -> ``201
  {"verifiableCredential": {...}}``: the node's own issuance (validated, signed with the issuer's key, status
  entries allocated, stored, anchored in the next batch); the answer is the signed VC as stored (what
  ``GET /v1/credentials/{digest}/vc`` returns). ``Location`` names its status.
* ``POST /credentials/verify`` (public): ``{"verifiableCredential": {...}, "options"?}`` -> ``200
  {verified, checks, warnings, errors}`` when every check passes; a credential that fails verification -> ``400``
  problem+json carrying the same members. Each check of the credreg report is named in ``checks`` (``proof``,
  ``expiration``, ``credentialStatus``, ``anchor``...); a failed or undecided one is a ProblemDetails in
  ``errors``; a credential signed but not (yet) anchored is valid with a ``signed-not-anchored`` warning.
  The anchor is this node's own proof of the credential's digest.
* ``POST /presentations/verify`` (public): ``{"verifiablePresentation": {...}, "options": {challenge?, domain?}}``:
  the presentation's Data Integrity proof (purpose ``authentication``; challenge / domain when asked) and every
  credential in it, each result in ``credentialResults``.

Input that is not of these shapes is a ``400`` problem+json naming the member (the VC-API's status for bad
input); so is a credential the issuer's rules refuse at issuance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import Session

from anchoring.errors import FormatError
from anchoring.scheme.encoding import to_hex
from anchoring.signing import envelope, verify_proofs
from anchoring.verify.context import ChainContext
from anchoring.verify.credential import (
    NOT_ANCHORED_TEXT,
    credential_digest,
    is_plain_credential,
    verify_credential,
)
from anchoring.verify.report import NOT_ANCHORED, PASS, VerificationReport
from anchoring.verify.web import WebContext
from api.deps import IssuerToken, SessionFactoryDep, SettingsDep
from api.errors import PROBLEM_JSON, problem, problem_responses
from api.parsing import parse_json, read_body
from api.routers.credentials import _profile, _run_issue, _status_url
from api.routers.proofs import public_proof
from api.routers.verify import _chain
from api.schemas.vc_api import (
    IssueCredentialRequest,
    IssueCredentialResponse,
    ProblemDetails,
    VerificationResult,
    VerifyCredentialRequest,
    VerifyPresentationRequest,
    VerifyPresentationResult,
)
from api.verify_slots import in_verify_slot
from node.errors import Invalid, Unavailable
from node.issuance.signing import PROOF_TYPES
from node.reads.bundles import plain_vc_for

__all__ = ["router"]

router = APIRouter(tags=["W3C VC-API"])

#: credreg report check -> VC-API check name
CHECK_NAMES = {
    "format": "format",
    "integrity": "integrity",
    "inclusion": "inclusion",
    "anchored": "anchor",
    "issuer_trusted": "issuerTrusted",
    "not_revoked": "revocation",
    "issuer_matches": "issuerMatches",
    "signature": "proof",
    "validity_period": "expiration",
    "status_list": "credentialStatus",
    "scope": "scope",
    "joint": "joint",
}
_CRYPTOSUITES = tuple(p for p in PROOF_TYPES if not p.startswith("vc-jwt"))
_ISSUE_OPTIONS = {"proofType", "cryptosuite"}
_VERIFY_OPTIONS = {"challenge", "domain"}


def _request_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a hand-read JSON body: the model's schema with its ``$defs`` inlined."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inline(schema)}}}}


def _bad(pointer: str, message: str) -> Exception:
    field = pointer.lstrip("/").replace("/", ".")
    return problem(
        400,
        f"{pointer or 'body'}: {message}",
        slug="invalid-request",
        title="Invalid request",
        errors=[{"pointer": pointer, "field": field, "message": message}],
    )


def _body(raw: bytes, member: str, allowed_options: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``{member: {...}, "options"?: {...}}`` or a 400 naming what is wrong."""
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise _bad("", f'expected a JSON object {{"{member}": {{...}}, "options": {{...}}}}')
    extra = sorted(set(body) - {member, "options"})
    if extra:
        raise _bad("/" + extra[0], "unexpected member")
    if member not in body:
        raise _bad("/" + member, "required")
    if not isinstance(body[member], dict):
        raise _bad("/" + member, "must be a JSON object")
    options = body.get("options", {})
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise _bad("/options", "must be a JSON object")
    unknown = sorted(set(options) - allowed_options)
    if unknown:
        raise _bad(
            f"/options/{unknown[0]}", f"not supported (supported: {', '.join(sorted(allowed_options))})"
        )
    for key, value in options.items():
        if not isinstance(value, str):
            raise _bad(f"/options/{key}", "must be a string")
    return body[member], options


def _proof_of(options: dict[str, Any]) -> str | None:
    """``options.proofType`` / ``options.cryptosuite`` -> the node's proof type (None: the issuer's default)."""
    kind = options.get("proofType")
    if kind is not None and kind != "DataIntegrityProof":
        raise _bad("/options/proofType", "only DataIntegrityProof is offered")
    suite = options.get("cryptosuite")
    if suite is not None and suite not in _CRYPTOSUITES:
        raise _bad("/options/cryptosuite", f"one of {', '.join(_CRYPTOSUITES)}")
    return suite


@router.post(
    "/credentials/issue",
    status_code=201,
    response_model=IssueCredentialResponse,
    responses=problem_responses(400, 401, 403, 409, 413, 415),
    openapi_extra=_request_body(IssueCredentialRequest),
    summary="VC-API: issue (sign, store, anchor in the next batch) one credential",
)
async def issue(
    request: Request,
    response: Response,
    principal: IssuerToken,
    settings: SettingsDep,
    factory: SessionFactoryDep,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> IssueCredentialResponse:
    raw = await read_body(request, settings.max_credential_bytes, "CREDREG_MAX_CREDENTIAL_BYTES")
    credential, options = _body(raw, "credential", _ISSUE_OPTIONS)
    proof = _proof_of(options)
    try:
        [res] = await run_in_threadpool(
            _run_issue,
            factory,
            settings,
            principal.issuer_id,
            [credential],
            profile=_profile(settings, None),
            key=idempotency_key,
            bulk=False,
            proof=proof,
            base_url=settings.public_base_url or str(request.base_url),
        )
    except Invalid as exc:  # the VC-API answers refused input with 400; the pointers move under /credential
        errors = [
            {**e, "pointer": "/credential" + str(e.get("pointer", ""))}
            if not str(e.get("field", "")).startswith("query.")
            else e
            for e in exc.errors
        ]
        raise problem(400, exc.detail, slug=exc.slug, title=exc.title, errors=errors) from None
    with factory() as session:
        held = plain_vc_for(session, res.digest, principal.issuer_id)
    signed = envelope(held) if isinstance(held, str) else held
    if isinstance(held, dict) and "proof" not in held:
        # issue_many stores unsigned credentials only for an issuer without a signing key
        raise problem(
            409,
            "this issuer has no signing key: the credential was accepted unsigned (it verifies only inside its "
            f"bundle); digest {res.digest}",
            slug="issuer-cannot-sign",
            errors=[
                {"pointer": "/credential", "field": "credential", "message": "issuer has no signing key"}
            ],
        )
    response.headers["Location"] = _status_url(settings, res.digest)
    return IssueCredentialResponse(verifiableCredential=signed)


def _problem(slug: str, title: str, detail: str) -> ProblemDetails:
    return ProblemDetails(type=f"urn:credreg:problem:{slug}", title=title, detail=detail)


def _result(report: VerificationReport, prefix: str = "") -> VerificationResult:
    checks, errors, warnings = [], [], []
    for check in report.checks:
        name = CHECK_NAMES.get(check.name, check.name)
        checks.append(name)
        if check.status != PASS:
            errors.append(
                _problem(
                    f"{name}-{'failed' if check.status == 'fail' else 'undecided'}",
                    f"{name} check {check.status}",
                    f"{prefix}{check.reason}",
                )
            )
    if report.verdict == NOT_ANCHORED:
        reason = report.summary.get("anchor") or "no anchor found"
        warnings.append(
            _problem(NOT_ANCHORED, NOT_ANCHORED_TEXT.capitalize(), f"{prefix}{NOT_ANCHORED_TEXT}: {reason}")
        )
    return VerificationResult(verified=not errors, checks=checks, warnings=warnings, errors=errors)


def _own_proof(factory: Callable[[], Session], credential: Any) -> dict[str, Any] | None:
    """This node's public proof of the credential's digest (None when it holds none)."""
    digest = credential_digest(credential)
    if digest is None:
        return None
    return public_proof(factory, to_hex(digest))


def _chain_or_none(request: Request) -> ChainContext | None:
    """No chain configured: signatures, validity and status still verify; an anchor then cannot be checked."""
    try:
        return _chain(request)
    except Unavailable:
        return None


def _verify_one(
    credential: Any, chain: ChainContext | None, web: WebContext, factory: Callable[[], Session], prefix: str
) -> VerificationResult:
    if not is_plain_credential(credential):
        return VerificationResult(
            verified=False,
            checks=["format"],
            warnings=[],
            errors=[_problem("format-failed", "format check fail", f"{prefix}not a verifiable credential")],
        )
    proof = _own_proof(factory, credential) if chain is not None else None
    return _result(verify_credential(credential, chain, proof=proof, web=web), prefix)


def _answer(request: Request, result: VerificationResult) -> Response:
    """200 with the result when verified; otherwise 400 problem+json that carries the result's members."""
    body = result.model_dump(mode="json")
    if result.verified:
        return JSONResponse(body)
    first = result.errors[0].detail if result.errors else "verification failed"
    doc = {
        "type": "urn:credreg:problem:verification-failed",
        "title": "Verification failed",
        "status": 400,
        "detail": first,
        "instance": request.url.path,
        **body,
    }
    return JSONResponse(doc, status_code=400, media_type=PROBLEM_JSON)


_VERIFY_RESPONSES = problem_responses(400, 413, 415, 503)
_VERIFY_RESPONSES[400] = {
    **_VERIFY_RESPONSES[400],
    "description": "Bad input (problem+json naming the member), or a credential that failed verification "
    "(problem+json that also carries verified: false, checks, warnings, errors)",
}


@router.post(
    "/credentials/verify",
    response_model=VerificationResult,
    responses=_VERIFY_RESPONSES,
    openapi_extra=_request_body(VerifyCredentialRequest),
    summary="VC-API: verify a credential (proof, validity period, status, this node's anchor)",
)
async def verify_credential_route(
    request: Request, settings: SettingsDep, factory: SessionFactoryDep
) -> Response:
    raw = await read_body(request, settings.max_verify_bytes, "CREDREG_MAX_VERIFY_BYTES")
    credential, _ = _body(raw, "verifiableCredential", _VERIFY_OPTIONS)
    if not is_plain_credential(credential):
        raise _bad("/verifiableCredential", "not a verifiable credential (@context, type, proof)")

    def work() -> VerificationResult:
        return _verify_one(credential, _chain_or_none(request), WebContext(), factory, "")

    result = await run_in_threadpool(in_verify_slot, request.app.state.verify_slots, settings, work)
    return _answer(request, result)


def _presentation_result(
    vp: dict[str, Any], options: dict[str, Any], chain: ChainContext | None, factory: Callable[[], Session]
) -> VerifyPresentationResult:
    web = WebContext()
    checks: list[str] = []
    errors: list[ProblemDetails] = []
    proofs = vp.get("proof")
    if proofs is not None:
        checks.append("proof")
        try:
            results = verify_proofs(
                vp, web.resolver, expected_purpose="authentication", contexts=web.contexts
            )
        except FormatError as exc:
            raise _bad("/verifiablePresentation/proof", str(exc)) from None
        errors.extend(
            _problem("proof-failed", "proof check fail", f"presentation: {p.reason}")
            for p in results
            if not p.valid
        )
        listed = proofs if isinstance(proofs, list) else [proofs]
        for key in ("challenge", "domain"):
            if key in options:
                checks.append(key)
                if not any(isinstance(p, dict) and p.get(key) == options[key] for p in listed):
                    errors.append(
                        _problem(
                            f"{key}-failed",
                            f"{key} check fail",
                            f"presentation: no proof has {key} {options[key]!r}",
                        )
                    )
    elif "challenge" in options or "domain" in options:
        checks.append("proof")
        errors.append(
            _problem(
                "proof-failed",
                "proof check fail",
                "presentation: unsigned, but a challenge / domain was asked",
            )
        )
    held = vp.get("verifiableCredential", [])
    held = held if isinstance(held, list) else [held]
    results_of = [
        _verify_one(c, chain, web, factory, f"verifiableCredential[{i}]: ") for i, c in enumerate(held)
    ]
    for one in results_of:
        errors.extend(one.errors)
    warnings = [w for r in results_of for w in r.warnings]
    if held:
        checks.append("credentials")
    return VerifyPresentationResult(
        verified=not errors, checks=checks, warnings=warnings, errors=errors, credentialResults=results_of
    )


@router.post(
    "/presentations/verify",
    response_model=VerifyPresentationResult,
    responses=_VERIFY_RESPONSES,
    openapi_extra=_request_body(VerifyPresentationRequest),
    summary="VC-API: verify a presentation (its proof, challenge / domain, and every credential in it)",
)
async def verify_presentation_route(
    request: Request, settings: SettingsDep, factory: SessionFactoryDep
) -> Response:
    raw = await read_body(request, settings.max_verify_bytes, "CREDREG_MAX_VERIFY_BYTES")
    vp, options = _body(raw, "verifiablePresentation", _VERIFY_OPTIONS)
    types = vp.get("type")
    types = types if isinstance(types, list) else [types]
    if "@context" not in vp:
        raise _bad("/verifiablePresentation/@context", "required")
    if "VerifiablePresentation" not in types:
        raise _bad("/verifiablePresentation/type", "must include VerifiablePresentation")
    held = vp.get("verifiableCredential", [])
    if not isinstance(held, (list, dict)):
        raise _bad("/verifiablePresentation/verifiableCredential", "a credential or a list of credentials")
    max_items = settings.max_verify_bundles
    if isinstance(held, list) and len(held) > max_items:
        raise problem(
            413,
            f"at most {max_items} credentials per presentation (setting CREDREG_MAX_VERIFY_BUNDLES)",
            errors=[
                {
                    "pointer": "/verifiablePresentation/verifiableCredential",
                    "field": "verifiablePresentation.verifiableCredential",
                    "message": f"at most {max_items} items",
                }
            ],
        )

    def work() -> VerifyPresentationResult:
        return _presentation_result(vp, options, _chain_or_none(request), factory)

    result = await run_in_threadpool(in_verify_slot, request.app.state.verify_slots, settings, work)
    return _answer(request, result)
