"""DID documents of the node's did:web issuers (W3C did:web method): public, cacheable, no personal data."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep
from api.errors import problem_responses
from node.reads.dids import host_did_document, issuer_did_document

router = APIRouter(tags=["did"])


class DidDocument(BaseModel):
    """A DID document (DID Core 1.0) with Multikey verification methods."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    context: list[str] = Field(alias="@context")
    id: str
    verificationMethod: list[dict[str, Any]]
    assertionMethod: list[str]
    authentication: list[str]


@router.get(
    "/issuers/{name}/did.json",
    response_model=DidDocument,
    response_model_by_alias=True,
    summary="The DID document of did:web:HOST:issuers:NAME",
    responses=problem_responses(404),
)
def issuer_did(name: str, session: SessionDep) -> DidDocument:
    return DidDocument.model_validate(issuer_did_document(session, name))


@router.get(
    "/.well-known/did.json",
    response_model=DidDocument,
    response_model_by_alias=True,
    summary="The DID document of did:web:HOST (the issuer of this node that has it)",
    responses=problem_responses(404),
)
def host_did(request: Request, session: SessionDep) -> DidDocument:
    host = request.headers.get("host") or request.url.netloc
    return DidDocument.model_validate(host_did_document(session, host))
