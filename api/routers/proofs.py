"""Public proofs by digest: no account, no personal data."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import SessionDep
from api.errors import problem_responses
from api.schemas.proofs import ProofView
from node.reads.proofs import proof_for

#: Cache-Control of an anchored digest's proof (one year)
FINAL = "public, max-age=31536000, immutable"

router = APIRouter(prefix="/v1/proofs", tags=["proofs"])


@router.get(
    "/{digest}",
    response_model=ProofView,
    responses=problem_responses(404, 422),
    summary="Inclusion proof and anchor of a digest (pending is a state, not an error)",
)
def get_proof(digest: str, session: SessionDep, response: Response) -> ProofView:
    proof = proof_for(session, digest)
    # an anchored proof never changes: a CDN or reverse proxy may serve repeats; before that, always ask again
    response.headers["Cache-Control"] = FINAL if proof.final else "no-cache"
    return ProofView.model_validate(proof)
