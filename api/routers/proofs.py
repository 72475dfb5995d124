"""Public proofs by digest: no account, no personal data."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.errors import PROBLEM_JSON
from api.schemas import ProblemDetail, ProofView
from node.reads.proofs import proof_for

router = APIRouter(prefix="/v1/proofs", tags=["proofs"])


@router.get("/{digest}", response_model=ProofView, response_model_exclude_none=False,
            responses={c: {"model": ProblemDetail, "content": {PROBLEM_JSON: {}}} for c in (404, 422)},
            summary="Inclusion proof and anchor of a digest (pending is a state, not an error)")
def get_proof(request: Request, digest: str):
    with request.app.state.session_factory() as session:
        return proof_for(session, digest)
