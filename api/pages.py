"""The node's web pages (the verifier at ``/verify``, the registry at ``/registry``, the learner's share page at
``/s/<token>``, the API reference at ``/docs``): static HTML and its assets from ``api/static``, and pages rendered
from ``api/templates`` (Jinja2, autoescaped: credential text is untrusted), all with one set of security headers.

``/docs`` is Swagger UI (npm ``swagger-ui-dist``, else PyPI ``swagger-ui-bundle``), its files served by the node,
not a CDN.

Every page works offline and talks only to this origin: no CDN, no inline script or style (the policy below
forbids them), nothing that leaks the page's URL (a verifier's page may hold a digest) to anyone else.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

__all__ = ["PAGE_HEADERS", "STATIC_DIR", "TEMPLATE_DIR", "mount_page", "mount_pages", "render_page"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

PAGE_HEADERS = {
    # everything from this origin, nothing from anywhere else: the page works offline and leaks nothing
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


def _serve(name: str | Path):
    path = name if isinstance(name, Path) else STATIC_DIR / name
    media_type = _MEDIA_TYPES[path.suffix]

    async def serve() -> FileResponse:
        return FileResponse(path, media_type=media_type, headers=PAGE_HEADERS)

    return serve


@lru_cache(maxsize=1)
def _templates():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_page(
    name: str, status_code: int = 200, headers: Mapping[str, str] | None = None, **context: Any
) -> HTMLResponse:
    """``templates/<name>`` rendered with ``context`` (autoescaped), served with :data:`PAGE_HEADERS`."""
    html = _templates().get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})


def mount_page(app: FastAPI, path: str, page: str, assets: Mapping[str, str | Path]) -> None:
    """Serve ``static/<page>`` at ``path`` (``path/`` redirects there) and each ``static/<file>`` of ``assets`` at
    ``path/<url>`` (``{url: file}``), all with :data:`PAGE_HEADERS`; none of it is in the OpenAPI document."""
    app.add_api_route(path, _serve(page), methods=["GET"], include_in_schema=False)
    app.add_api_route(
        path + "/", lambda: RedirectResponse(path, status_code=308), methods=["GET"], include_in_schema=False
    )
    for url, name in assets.items():
        app.add_api_route(f"{path}/{url}", _serve(name), methods=["GET"], include_in_schema=False)


def mount_pages(app: FastAPI) -> None:
    """Every page of the node."""
    mount_page(
        app, "/verify", "verify.html", {"assets/verify.js": "verify.js", "assets/verify.css": "verify.css"}
    )
    mount_page(
        app, "/registry", "registry.html", {"registry.js": "registry.js", "registry.css": "registry.css"}
    )
    # the share page's style; the pages themselves are api.routers.learners (rendered per link)
    app.add_api_route("/s/assets/share.css", _serve("share.css"), methods=["GET"], include_in_schema=False)
    mount_page(app, "/docs", "docs.html", _swagger_assets())


#: Swagger UI 5 (renders OpenAPI 3.1, which FastAPI writes): the npm package ``swagger-ui-dist`` pinned in
#: package.json, from the repository's node_modules; an install without node_modules (pip) falls back to the PyPI
#: package ``swagger-ui-bundle`` (Swagger UI 4: it lists the API but cannot render a 3.1 document in full)
SWAGGER_UI_DIST = STATIC_DIR.parent.parent / "node_modules" / "swagger-ui-dist"


def _swagger_assets() -> dict[str, str | Path]:
    folder = SWAGGER_UI_DIST
    if not (folder / "swagger-ui-bundle.js").exists():
        from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

        folder = Path(swagger_ui_path)
    return {
        "assets/swagger-ui.css": folder / "swagger-ui.css",
        "assets/swagger-ui-bundle.js": folder / "swagger-ui-bundle.js",
        "assets/docs.js": "docs.js",
    }
