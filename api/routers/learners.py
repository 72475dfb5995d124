"""The learner's side: share links (issuer-made capability URLs) and what they open.

* ``POST /v1/credentials/{digest}/share-links`` (issuer token): a new link, shown once; ``sendTo`` e-mails it.
* ``GET /v1/credentials/{digest}/share-links`` (issuer or reader token): the links, without their tokens.
* ``DELETE /v1/credentials/{digest}/share-links/{id}`` (issuer token): withdraw a link for good.
* ``GET /s/{token}``: the human page; ``/s/{token}/credential.json``, ``/bundle.json``, ``/credential.pdf``: the
  downloads. An unknown token is a 404 page, a withdrawn or expired one a 410 page; neither says anything about
  the credential. Nothing here is public without the token.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlmodel import Session

from api.deps import AnyToken, DeploymentDep, IssuerToken, SessionDep, SettingsDep
from api.errors import problem_responses
from api.pages import render_page
from api.schemas.learners import DeliveryView, NewShareLinkRequest, ShareLinkCreated, ShareLinkView
from node.errors import Gone, NotFound
from node.learners.links import (
    ResolvedLink,
    create_share_link,
    list_share_links,
    resolve_share_link,
    revoke_share_link,
    share_path,
)
from node.learners.mail import enqueue_share_mail
from node.learners.offer import Offer, credential_document, offer_bundle, offer_for
from node.learners.pdf import render_pdf
from node.settings import Settings

__all__ = ["pages", "router", "share_url"]

router = APIRouter(prefix="/v1/credentials", tags=["learners"])
pages = APIRouter(prefix="/s", include_in_schema=False)

_NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}


def share_url(settings: Settings, request: Request, token: str) -> str:
    """The absolute share link: the node's public base URL (or the request's own) + ``/s/<token>``."""
    base = settings.public_base_url.rstrip("/") or str(request.base_url).rstrip("/")
    return base + share_path(token)


@router.post(
    "/{digest}/share-links",
    status_code=201,
    response_model=ShareLinkCreated,
    responses=problem_responses(401, 403, 404, 422),
    summary="A new share link for the learner (shown once); sendTo e-mails it",
)
def create_link(
    digest: str,
    body: NewShareLinkRequest,
    request: Request,
    principal: IssuerToken,
    session: SessionDep,
    settings: SettingsDep,
) -> ShareLinkCreated:
    return make_share_link(session, settings, request, digest, principal.issuer_id, body)


def make_share_link(
    session: Session,
    settings: Settings,
    request: Request,
    digest: str,
    issuer_id: int,
    body: NewShareLinkRequest,
) -> ShareLinkCreated:
    """Create (and commit) a link, and queue its e-mail when asked: shared by this route and issuance."""
    ttl = timedelta(days=body.expires_in_days) if body.expires_in_days is not None else None
    new = create_share_link(session, digest, issuer_id, expires_at=body.expires_at, ttl=ttl, label=body.label)
    url = share_url(settings, request, new.token)
    delivery = None
    if body.send_to is not None:
        found = resolve_share_link(session, new.token)
        offer = offer_for(session, found)
        delivery = enqueue_share_mail(
            session,
            settings,
            new.record,
            url,
            str(body.send_to),
            offer.human.title or "a credential",
            offer.issuer_name,
        )
    session.commit()
    out = ShareLinkCreated.model_validate(
        {**ShareLinkView.model_validate(new.record).model_dump(), "url": url}
    )
    if delivery is not None:
        out.delivery = DeliveryView.model_validate(delivery)
    return out


@router.get(
    "/{digest}/share-links",
    response_model=list[ShareLinkView],
    responses=problem_responses(401, 404, 422),
    summary="This credential's share links (without their tokens)",
)
def list_links(digest: str, principal: AnyToken, session: SessionDep) -> list[ShareLinkView]:
    return [ShareLinkView.model_validate(x) for x in list_share_links(session, digest, principal.issuer_id)]


@router.delete(
    "/{digest}/share-links/{link_id}",
    response_model=ShareLinkView,
    responses=problem_responses(401, 403, 404, 422),
    summary="Withdraw a share link for good (its URL answers 410 from then on)",
)
def revoke_link(digest: str, link_id: int, principal: IssuerToken, session: SessionDep) -> ShareLinkView:
    link = revoke_share_link(session, digest, link_id, principal.issuer_id)
    session.commit()
    return ShareLinkView.model_validate(link)


# ------------------------------------------------------------------------------------------- the pages
def _gone_page(exc: NotFound | Gone, css: str) -> HTMLResponse:
    status = 410 if isinstance(exc, Gone) else 404
    title = exc.title if isinstance(exc, Gone) else "No such link"
    return render_page("share_gone.html", status, headers=_NO_STORE, title=title, detail=exc.detail, css=css)


def _status_line(o: Offer) -> str:
    if o.status == "valid":
        return "Valid" if o.anchored else f"Valid · anchoring under way ({o.state})"
    when = f" on {o.status_changed_at:%Y-%m-%d}" if o.status_changed_at else ""
    return f"{o.status.capitalize()}{when}: {o.status_reason_text or 'no reason given'}"


@pages.get("/{token}", response_class=HTMLResponse)
def share_page(token: str, session: SessionDep) -> HTMLResponse:
    try:
        found = resolve_share_link(session, token)
    except (NotFound, Gone) as exc:
        return _gone_page(exc, "assets/share.css")
    o = offer_for(session, found)
    kind = "Micro-credential" if o.human.ects or o.human.eqf else "Credential"
    return render_page(
        "share.html", headers=_NO_STORE, o=o, h=o.human, token=token, kind=kind, status_line=_status_line(o)
    )


def _resolve_or_page(session: Session, token: str) -> ResolvedLink | HTMLResponse:
    """The link's credential, or the 404 / 410 page to answer instead."""
    try:
        return resolve_share_link(session, token)
    except (NotFound, Gone) as exc:
        return _gone_page(exc, "../assets/share.css")


@pages.get("/{token}/credential.json", response_class=Response)
def share_credential(token: str, session: SessionDep) -> Response:
    found = _resolve_or_page(session, token)
    if isinstance(found, HTMLResponse):
        return found
    offer = offer_for(session, found)
    return Response(
        credential_document(offer),
        media_type="application/json",
        headers={**_NO_STORE, "Content-Disposition": 'attachment; filename="credential.json"'},
    )


@pages.get("/{token}/bundle.json", response_class=JSONResponse)
def share_bundle(token: str, session: SessionDep, deployment: DeploymentDep) -> Response:
    found = _resolve_or_page(session, token)
    if isinstance(found, HTMLResponse):
        return found
    doc = offer_bundle(session, found, deployment)
    return JSONResponse(
        doc, headers={**_NO_STORE, "Content-Disposition": 'attachment; filename="credential-bundle.json"'}
    )


@pages.get("/{token}/credential.pdf", response_class=Response)
async def share_pdf(token: str, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    found = _resolve_or_page(session, token)
    if isinstance(found, HTMLResponse):
        return found
    offer = offer_for(session, found)
    pdf = await run_in_threadpool(render_pdf, offer, share_url(settings, request, token))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={**_NO_STORE, "Content-Disposition": 'attachment; filename="credential.pdf"'},
    )
