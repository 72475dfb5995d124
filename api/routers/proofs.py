"""Public proofs by digest: no account, no personal data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from anchoring.errors import FormatError
from api.errors import problem_responses
from api.schemas.proofs import ProofView
from node.errors import Invalid, NotFound
from node.reads.proofs import ProofReader, proof_for

#: Cache-Control of an anchored digest's proof (one year)
FINAL = "public, max-age=31536000, immutable"

router = APIRouter(prefix="/v1/proofs", tags=["proofs"])


@router.get(
    "/{digest}",
    response_model=ProofView,
    responses=problem_responses(404, 422),
    summary="Inclusion proof and anchor of a digest (pending is a state, not an error)",
)
async def get_proof(digest: str, request: Request) -> Response:
    # the process's reader from the app's state, not a dependency: a sub-dependency costs ~12 us, a tenth of a proof
    reader: ProofReader = request.app.state.proof_reader
    if reader.local:
        # a local file read (one indexed row plus ~log2(n) sibling nodes at their blob offsets: ~0.1 ms) that WAL
        # readers do not wait for: on the event loop it costs half the CPU of a request with the thread hand-off
        proof = reader.proof(digest)
    else:  # a network round trip: in a thread (one hand-off; a SessionDep would add two more)
        proof = await run_in_threadpool(reader.proof, digest)
    # serialised here, once (a ProofView returned would be validated again against response_model, which stays
    # for the OpenAPI document); an anchored proof never changes: a CDN or reverse proxy may serve repeats
    return Response(
        ProofView.model_validate(proof).model_dump_json(by_alias=True),
        media_type="application/json",
        headers={"Cache-Control": FINAL if proof.final else "no-cache"},
    )


def public_proof(factory: Callable[[], Session], digest: str) -> dict[str, Any] | None:
    """This node's answer to ``GET /v1/proofs/{digest}`` as JSON data, for its verifiers that look a credential's
    anchor up at home (None when it holds no such digest, or the digest or stored tree is unusable)."""
    try:
        with factory() as session:
            view = ProofView.model_validate(proof_for(session.connection(), digest))
    except (NotFound, Invalid, FormatError):
        return None
    return view.model_dump(by_alias=True, mode="json")
