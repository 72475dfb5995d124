"""Public proofs by digest: no account, no personal data."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import SessionDep
from api.errors import problem_responses
from api.schemas.proofs import ProofView
from node.reads.proofs import proof_for

router = APIRouter(prefix="/v1/proofs", tags=["proofs"])


@router.get(
    "/{digest}",
    response_model=ProofView,
    responses=problem_responses(404, 422),
    summary="Inclusion proof and anchor of a digest (pending is a state, not an error)",
)
def get_proof(digest: str, session: SessionDep) -> ProofView:
    return ProofView.model_validate(proof_for(session, digest))
