"""Public verification: ``POST /v1/verify`` (no account; the verifier page at ``/verify`` posts here).

Body: one bundle, ``{"bundles": [...]}``, a JSON array of bundles, or ``{"presentation": "<SD-JWT VC>",
"audience"?, "nonce"?}`` (an SD-JWT VC presentation: its report lists the disclosed claims; the anchor of the
digest it names is this node's own proof of it).

* one bundle -> ``200`` with its report (``{verdict, summary, checks}``); a bundle that is not a
  well-formed ``credreg-bundle/1`` document -> ``422`` problem+json naming the field (``anchor.txHash``).
* many bundles -> ``200`` with ``{verdict, counts, reports}`` (the same shape as ``credreg verify --json``);
  a malformed bundle in a batch does not sink the others: its report has ``format: fail`` naming the field.
* body not JSON -> ``400``; not an object/array, ``bundles`` not a list or empty -> ``422``; more than
  ``max_verify_bundles`` bundles or ``max_verify_bytes`` -> ``413``; all busy -> ``503`` + Retry-After; all
  problem+json.
* the chain unreachable or on the wrong chain id -> ``200`` with ``error`` checks and verdict ``error``:
  verification ran, the chain could not be asked; the report says which check and why.  Never 500.
* no chain configured on this node (no ``rpc_url`` / deployment file) -> ``503`` problem+json.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlmodel import Session

from anchoring.bundle.v1 import BUNDLE_FORMAT
from anchoring.errors import FormatError
from anchoring.scheme.merkle import gc_paused
from anchoring.scheme.strict_json import DuplicateKey, LoneSurrogate, TooDeep, TooManyValues, strict_loads
from anchoring.verify.blocking import WouldBlock, cache_only, may_block
from anchoring.verify.context import ChainContext
from anchoring.verify.report import NOT_ANCHORED, VerificationReport
from anchoring.verify.run import verify_bundles
from anchoring.verify.sdjwt import is_sd_jwt, sd_jwt_digest, verify_sd_jwt_presentation
from api.deps import SessionFactoryDep, SettingsDep
from api.errors import problem, problem_responses
from api.parsing import read_body, shape_error
from api.routers.proofs import public_proof
from api.schemas.verify import BatchReport, Report
from api.verify_slots import in_verify_slot
from node.errors import Invalid, TooLarge
from node.learners.human import human_view
from node.settings import Settings
from node.verifier_chain import VerifierChain

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["verification"])


def _pointer(field: str) -> str:
    """``anchor.txHash`` / ``proof[2]`` -> JSON Pointer ``/anchor/txHash`` / ``/proof/2``."""
    if not field:
        return ""
    parts = [p for p in re.split(r"\.|\[|\]", field) if p != ""]
    return "/" + "/".join(p.strip('"').replace("~", "~0").replace("/", "~1") for p in parts)


def _parse(body: bytes) -> Any:
    if not body.strip():
        raise problem(
            400,
            "the request body is empty: send a proof bundle as JSON",
            errors=[{"pointer": "", "field": "body", "message": "empty"}],
        )
    try:
        return strict_loads(body)
    except (TooDeep, TooManyValues, LoneSurrogate) as exc:
        raise shape_error(exc) or exc from None
    except DuplicateKey as exc:
        raise problem(
            400,
            f"duplicate key {exc.key!r} in the JSON body",
            errors=[{"pointer": "", "field": exc.key, "message": "duplicate key"}],
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise problem(
            400,
            f"the request body is not valid JSON: {exc}",
            errors=[{"pointer": "", "field": "body", "message": "not valid JSON"}],
        ) from None


def _chain(request: Request) -> ChainContext:
    """The process's shared chain view (node.verifier_chain): no RPC call while the head stays the same."""
    verifier_chain: VerifierChain = request.app.state.verifier_chain
    return verifier_chain.current()


def _counts(reports: list[VerificationReport]) -> dict[str, int]:
    """As ``credreg verify --json``: ``signed-not-anchored`` only when some plain credential was."""
    out = {"total": len(reports), "valid": 0, "invalid": 0, "error": 0}
    for r in reports:
        out[r.verdict] = out.get(r.verdict, 0) + 1
    return out


def _overall(counts: dict[str, int]) -> str:
    if counts["error"]:
        return "error"
    if counts["invalid"]:
        return "invalid"
    return NOT_ANCHORED if counts.get(NOT_ANCHORED) else "valid"


def _credential_view(report: VerificationReport, credential: Any, names: Callable[[str], str | None]) -> dict:
    """The human content of the verified credential, its status in words and the issuer's registry name."""
    view = human_view(credential).to_dict()
    address = report.summary.get("issuer_address")
    view["registry_name"] = names(address) if isinstance(address, str) else None
    status = report.summary.get("status")
    view["status"] = status if isinstance(status, str) else None
    view["status_reason"] = view["status_text"] = None
    try:
        details = report.check("not_revoked").details
    except KeyError:
        details = {}
    if status in ("revoked", "suspended"):
        view["status_reason"] = details.get("reason")
        text = details.get("reason_text") or "no reason given"
        when = details.get("changed_at_iso")
        view["status_text"] = f"{status}{f' on {when}' if when else ''}: {text}"
    elif status == "valid":
        view["status_text"] = "not revoked or suspended"
    return view


@router.post(
    "/verify",
    summary="Verify one proof bundle or many (public, no account)",
    description=__doc__,
    response_model=Report | BatchReport,
    responses={
        200: {"description": "The report (one bundle) or `{verdict, counts, reports}` (many)."},
        **problem_responses(400, 413, 422, 503),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"type": "object", "description": f"a {BUNDLE_FORMAT} proof bundle"},
                            {
                                "type": "object",
                                "properties": {"bundles": {"type": "array", "items": {"type": "object"}}},
                                "required": ["bundles"],
                            },
                            {"type": "array", "items": {"type": "object"}},
                        ]
                    }
                }
            },
        }
    },
)
async def verify(request: Request, settings: SettingsDep, factory: SessionFactoryDep) -> JSONResponse:
    body = await read_body(request, settings.max_verify_bytes, "CREDREG_MAX_VERIFY_BYTES")
    answered = _verify_inline(body, settings, request, factory)
    if answered is not None:
        return answered
    names = request.app.state.organisation_names
    return await run_in_threadpool(
        in_verify_slot,
        request.app.state.verify_slots,
        settings,
        lambda: _verify_body(body, settings, lambda: _chain(request), factory, names),
    )


#: bodies verified on the event loop at most (one bundle of a few KiB is the common case; a 500 KiB EDC credential
#: goes to a thread, so that no request holds the loop for more than about a millisecond)
INLINE_MAX_BYTES = 64 * 1024


def _verify_inline(
    raw: bytes, settings: Settings, request: Request, factory: Callable[[], Session]
) -> JSONResponse | None:
    """One small bundle whose chain reads (and registry name) are all cached: verified right here on the event
    loop, without the thread hand-off (which cost more than the verification: scripts/bench_verify_soak.py).
    None when anything would block (anchoring.verify.blocking): the caller verifies in a thread instead. A bad
    body raises its 4xx here as it would there."""
    verifier_chain: VerifierChain = request.app.state.verifier_chain
    chain = verifier_chain.peek() if len(raw) <= INLINE_MAX_BYTES else None
    if chain is None:
        return None
    try:
        with cache_only():
            return _verify_body(raw, settings, lambda: chain, factory, request.app.state.organisation_names)
    except WouldBlock:
        return None


def _verify_presentation(
    body: dict[str, Any], chain: ChainContext, factory: Callable[[], Session]
) -> JSONResponse:
    """``{"presentation": "<SD-JWT VC>", "audience"?, "nonce"?}``: its report; the anchor of the digest it names
    is this node's own proof when the node holds it (otherwise the verdict is signed-not-anchored)."""
    extra = sorted(set(body) - {"presentation", "audience", "nonce"})
    fields = {k: body.get(k) for k in ("presentation", "audience", "nonce")}
    bad = extra[:1] or [k for k, v in fields.items() if v is not None and not isinstance(v, str)][:1]
    text = fields["presentation"]
    if bad or not isinstance(text, str) or not is_sd_jwt(text):
        name = bad[0] if bad else "presentation"
        raise Invalid(
            f"{name}: send {{presentation: an SD-JWT VC (dc+sd-jwt) string, audience?, nonce?}}",
            [
                {
                    "pointer": "/" + name,
                    "field": name,
                    "message": "expected an SD-JWT VC presentation"
                    if name == "presentation"
                    else "a string, or not allowed",
                }
            ],
            slug="invalid-presentation",
            title="Not an SD-JWT VC presentation",
        )
    try:
        digest = sd_jwt_digest(text)
    except FormatError:
        digest = None
    proof = public_proof(factory, digest) if digest is not None else None
    report = verify_sd_jwt_presentation(
        text, chain, proof=proof, audience=fields["audience"], nonce=fields["nonce"]
    )
    fmt = report.check("format")
    if fmt.status == "fail":
        raise Invalid(
            fmt.reason,
            [{"pointer": "/presentation", "field": "presentation", "message": fmt.reason, "check": "format"}],
            slug="invalid-presentation",
            title="Not an SD-JWT VC presentation",
        )
    return JSONResponse(report.to_dict())


def _bundle_credential(item: Any) -> Any:
    """The credential inside a bundle (or a plain credential itself), for its human content."""
    if isinstance(item, dict) and isinstance(item.get("credential"), dict):
        return item["credential"]
    return item


def _verify_body(
    raw: bytes,
    settings: Settings,
    chain_view: Callable[[], ChainContext],
    factory: Callable[[], Session],
    names: Callable[[str], str | None],
) -> JSONResponse:
    """Parse, verify and render (in a thread, or on the event loop for one bundle inside ``cache_only``: see
    :func:`_verify_inline`), with the cyclic GC paused for large bodies. Bad input is refused (4xx) before the
    chain is needed, so it is refused the same way on a node without a chain."""
    # a large body makes many short-lived objects and no cycles: the GC waits; a small one is not worth a pause
    with gc_paused() if len(raw) > INLINE_MAX_BYTES else contextlib.nullcontext():
        body = _parse(raw)
        if isinstance(body, dict) and "presentation" in body:
            may_block("presentations are verified in a thread")
            return _verify_presentation(body, chain_view(), factory)
        items, single = _items(body, settings.max_verify_bundles)
        if not single:
            may_block("many bundles are verified in a thread")
        chain = chain_view()
        reports = verify_bundles(items, chain)
        if single:
            report = reports[0]
            fmt = report.check("format")
            if fmt.status == "fail":
                field = fmt.details.get("field", "")
                raise Invalid(
                    fmt.reason,
                    [{"pointer": _pointer(field), "field": field, "message": fmt.reason, "check": "format"}],
                    slug="invalid-bundle",
                    title="Not a valid proof bundle",
                )
            # thousands of reports in a batch: the report's own dict, not a model validated again
            view = _credential_view(report, _bundle_credential(items[0]), names)
            return JSONResponse({**report.to_dict(), "credential_view": view})
        for i, r in enumerate(reports):
            r.source = f"bundles[{i}]"
        counts = _counts(reports)
        out = [
            {**r.to_dict(), "credential_view": _credential_view(r, _bundle_credential(item), names)}
            for r, item in zip(reports, items, strict=True)
        ]
        return JSONResponse({"verdict": _overall(counts), "counts": counts, "reports": out})


def _items(body: Any, limit: int) -> tuple[list, bool]:
    single = False
    if isinstance(body, dict) and "bundles" in body and "format" not in body:
        extra = sorted(k for k in body if k != "bundles")
        if extra:
            raise problem(
                422,
                f"unexpected member {extra[0]!r} beside `bundles`",
                errors=[{"pointer": "/" + extra[0], "field": extra[0], "message": "not allowed"}],
            )
        items = body["bundles"]
        if not isinstance(items, list):
            raise problem(
                422,
                "`bundles` must be an array of proof bundles",
                errors=[{"pointer": "/bundles", "field": "bundles", "message": "not an array"}],
            )
    elif isinstance(body, list):
        items = body
    elif isinstance(body, dict):
        items, single = [body], True
    else:
        raise problem(
            422,
            'send a proof bundle (a JSON object), {"bundles": [...]} or a JSON array of bundles',
            errors=[{"pointer": "", "field": "body", "message": f"a JSON {type(body).__name__}"}],
        )
    if not items:
        raise problem(
            422,
            "no bundles to verify",
            errors=[{"pointer": "/bundles", "field": "bundles", "message": "empty"}],
        )
    if len(items) > limit:
        raise TooLarge(
            f"at most {limit} bundles per request (setting CREDREG_MAX_VERIFY_BUNDLES); got {len(items)}",
            [
                {
                    "pointer": "/bundles",
                    "field": "bundles",
                    "message": f"at most {limit} items",
                    "limit": limit,
                    "setting": "CREDREG_MAX_VERIFY_BUNDLES",
                }
            ],
        )
    return items, single
