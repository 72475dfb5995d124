"""Public, read-only registry API (from the chain index that ``node.registry.indexer`` keeps).

    GET /v1/registry/issuers                     ?kind&status&accreditor&country&limit&offset
    GET /v1/registry/issuers/{address}           entry + accreditation chain up to the RootTAO + document check
    GET /v1/registry/issuers/{address}/history   every change: what, by whom, block, tx, time
    GET /v1/registry/issuers/{address}/status    ?at=<unix|ISO> | ?block=<n>  [&verify=true: cross-check on chain]
    GET /v1/registry/issuers/{address}/anchors   count, leaves, first/last, paginated items
    GET /v1/registry/issuers/{address}/document  the accreditation document as stored (hash in headers)
    GET /v1/registry/tree                        the accreditation forest
    GET /v1/registry/export.csv | export.json    the registry and its history

The page at ``/registry`` is served by ``api/pages.py``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from web3 import Web3

from anchoring.chain.contracts import IssuerRegistry
from anchoring.chain.deployment import Deployment, DeploymentFileError
from anchoring.chain.endpoint import redact
from anchoring.chain.rpc import connect
from anchoring.errors import ChainError
from api.deps import SessionDep, SettingsDep
from api.errors import problem_responses
from api.schemas.registry import (
    AnchorPageView,
    ChainCheck,
    HistoryView,
    IssuerDetail,
    IssuerPage,
    RegistryExport,
    StatusAtView,
    TreeView,
)
from node.errors import Invalid, NotFound
from node.registry import index, operations
from node.registry.accreditation import check_document, find_document, organisation_name, scope_words
from node.settings import Settings
from node.storage.registry_tables import RegistryIssuer

__all__ = ["router"]

router = APIRouter(prefix="/v1/registry", tags=["registry"])
_ERRORS = problem_responses(404, 422)  # an entry by address: unknown (404) or not an address (422)
_QUERY_ERRORS = problem_responses(422)

Limit = Query(50, ge=1, le=500, description="Page size (1-500).")
#: the largest integer a query parameter may carry: a signed 64-bit column (SQLite INTEGER, PostgreSQL BIGINT) holds
#: no more, and a larger value would fail in the database instead of being refused here
MAX_INT64 = 2**63 - 1
Offset = Query(0, ge=0, le=MAX_INT64, description="Items to skip.")


def _bad(field: str, message: str) -> Invalid:
    return Invalid(message, [{"pointer": "", "field": field, "message": message}])


def _address(value: str) -> str:
    if not Web3.is_address(value):
        raise _bad("path.address", f"not an Ethereum address: {value[:80]!r}")
    return Web3.to_checksum_address(value)


def _choice(field: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is None or value == "":
        return None
    v = value.strip().lower()
    if v not in allowed:
        raise _bad(f"query.{field}", f"{field} must be one of {', '.join(allowed)}")
    return v


def _issuer_or_404(session, address: str) -> RegistryIssuer:
    row = index.get_index_issuer(session, address)
    if row is None:
        raise NotFound(
            f"{address} is not in the indexed registry",
            title="Not Found",
            errors=[{"pointer": "", "field": "path.address", "message": "unknown issuer"}],
        )
    return row


def _next_page(request: Request, offset: int, limit: int, total: int) -> str | None:
    if offset + limit < total:
        # from the configured base URL, never the Host header (link poisoning behind a proxy)
        query = urlencode({**request.query_params, "offset": offset + limit, "limit": limit})
        return f"{request.app.state.settings.public_base_url.rstrip('/')}{request.url.path}?{query}"
    return None


@router.get(
    "/issuers",
    response_model=IssuerPage,
    responses=_QUERY_ERRORS,
    summary="Registry entries (filter by kind, status, accreditor, country)",
)
def list_issuers(
    request: Request,
    session: SessionDep,
    kind: str | None = None,
    status: str | None = None,
    accreditor: str | None = None,
    country: str | None = Query(None, max_length=64),
    limit: int = Limit,
    offset: int = Offset,
) -> IssuerPage:
    kind = _choice("kind", kind, index.INDEX_KINDS)
    status = _choice("status", status, index.INDEX_STATUSES)
    if accreditor:
        if not Web3.is_address(accreditor):
            raise _bad("query.accreditor", "accreditor must be an Ethereum address")
        accreditor = Web3.to_checksum_address(accreditor)
    rows, total = index.query_issuers(
        session, kind=kind, status=status, accreditor=accreditor, country=country, limit=limit, offset=offset
    )
    return IssuerPage.model_validate(
        {
            "items": [index.issuer_entry(r) for r in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
            "next": _next_page(request, offset, limit, total),
            "index": index.index_position(session),
        }
    )


@router.get(
    "/issuers/{address}",
    response_model=IssuerDetail,
    responses=_ERRORS,
    summary="One entry with its accreditation chain",
)
def get_issuer(address: str, session: SessionDep) -> IssuerDetail:
    address = _address(address)
    row = _issuer_or_404(session, address)
    return IssuerDetail.model_validate(
        {
            **asdict(index.issuer_entry(row)),
            "name": organisation_name(session, address, row.document_hash),
            "scope_text": scope_words(row.scope),
            "accreditation_chain": index.accreditation_chain(session, row),
            "document": check_document(session, address, row.document_hash),
            "index": index.index_position(session),
        }
    )


@router.get(
    "/issuers/{address}/history",
    response_model=HistoryView,
    responses=_ERRORS,
    summary="Every change of an entry",
)
def get_history(address: str, session: SessionDep) -> HistoryView:
    address = _address(address)
    _issuer_or_404(session, address)
    return HistoryView.model_validate(
        {
            "address": address,
            "items": [index.history_event(e) for e in index.issuer_history(session, address)],
        }
    )


@router.get(
    "/issuers/{address}/status",
    response_model=StatusAtView,
    responses=_ERRORS,
    summary="Status at a time or block",
)
def get_status(
    address: str,
    session: SessionDep,
    settings: SettingsDep,
    at: str | None = Query(
        None, description="Unix seconds or ISO 8601 time (default: the newest indexed block)."
    ),
    block: int | None = Query(None, ge=0, le=MAX_INT64, description="Block number."),
    verify: bool = Query(False, description="Also ask the chain (statusAt / getIssuer at that block)."),
) -> StatusAtView:
    address = _address(address)
    if at is not None and block is not None:
        raise _bad("query.at", "give either at or block, not both")
    timestamp = None
    if at not in (None, ""):
        try:
            timestamp = operations.parse_time(at)
        except ValueError as exc:
            raise _bad("query.at", str(exc)) from None
        if timestamp < 0:
            raise _bad("query.at", "at must not be negative")
        if timestamp > MAX_INT64:
            raise _bad("query.at", f"at must be at most {MAX_INT64} (Unix seconds)")
    row = _issuer_or_404(session, address)
    if timestamp is None and block is None:  # "now" = the newest block the index has (chain time, not ours)
        position = index.index_position(session)
        block = position.last_block if position else row.updated_block
    answer = StatusAtView.model_validate(index.status_at(session, row, timestamp=timestamp, block=block))
    session.close()  # the chain check below may wait on the RPC: do not hold a connection meanwhile
    if verify:
        answer.chain = _chain_check(settings, address, timestamp, block, answer.status)
    return answer


def _chain_check(
    settings: Settings, address: str, timestamp: int | None, block: int | None, indexed: str
) -> ChainCheck:
    if not settings.rpc_url:
        return ChainCheck(result="error", status=None, reason="this node has no RPC endpoint configured")
    try:
        deployment = Deployment.load(settings.resolved_deployment_file)
        w3 = connect(settings.rpc_url, timeout=settings.chain_probe_timeout_seconds, deployment=deployment)
        registry = IssuerRegistry(w3, deployment.issuer_registry)
        if block is None:
            assert timestamp is not None  # get_status turns "now" into a block
            status = registry.status_at(address, timestamp).label
        else:
            entry = registry.find_issuer(address, block=block)
            status = entry.status.label if entry is not None else "none"
    except (ChainError, DeploymentFileError) as exc:  # an unreachable chain is an error, not an answer
        return ChainCheck(result="error", status=None, reason=redact(str(exc), settings.rpc_url)[:300])
    return ChainCheck(
        result="pass" if status == indexed else "fail",
        status=status,
        reason="the chain agrees with the index"
        if status == indexed
        else f"the chain says {status}, the index says {indexed}",
    )


@router.get(
    "/issuers/{address}/anchors",
    response_model=AnchorPageView,
    responses=_QUERY_ERRORS,
    summary="Batches anchored by an issuer",
)
def get_anchors(
    address: str, session: SessionDep, limit: int = Limit, offset: int = Offset
) -> AnchorPageView:
    address = _address(address)
    return AnchorPageView.model_validate(index.issuer_anchors(session, address, limit, offset))


@router.get(
    "/issuers/{address}/document",
    response_model=dict[str, Any],
    responses=_ERRORS,
    summary="The accreditation document as stored (its keccak256(JCS) is the on-chain documentHash)",
)
def get_document(address: str, session: SessionDep) -> Response:
    address = _address(address)
    row = index.get_index_issuer(session, address)
    wanted = row.document_hash if row is not None else None
    doc = find_document(session, address, wanted)
    if doc is None:
        raise NotFound(
            f"this node holds no accreditation document for {address}",
            title="Not Found",
            errors=[{"pointer": "", "field": "path.address", "message": "no document"}],
        )
    headers = {"X-Credreg-Document-Hash": doc.document_hash}
    if row is not None:
        check = check_document(session, address, row.document_hash)
        headers["X-Credreg-Onchain-Hash"] = row.document_hash
        headers["X-Credreg-Document-Check"] = check.result
    return Response(doc.document.encode(), media_type="application/json", headers=headers)


@router.get("/tree", response_model=TreeView, summary="The accreditation forest (RootTAO -> TAO -> TI)")
def get_tree(session: SessionDep) -> TreeView:
    roots = [asdict(r) for r in index.accreditation_tree(session)]

    def named(node: dict) -> dict:
        node["name"] = organisation_name(session, node["address"])
        node["children"] = [named(c) for c in node["children"]]
        return node

    return TreeView.model_validate(
        {"roots": [named(r) for r in roots], "index": index.index_position(session)}
    )


@router.get(
    "/export.csv",
    summary="The registry and its history as CSV (one row per change)",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "one row per registry event, with the entry's current state",
        }
    },
)
def export_csv(session: SessionDep) -> Response:
    rows = index.export_rows(session)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=index.EXPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="credreg-registry.csv"'},
    )


@router.get("/export.json", response_model=RegistryExport, summary="The registry and its history as JSON")
def export_json(session: SessionDep) -> JSONResponse:
    return JSONResponse(
        index.export_document(session),
        headers={"Content-Disposition": 'attachment; filename="credreg-registry.json"'},
    )
