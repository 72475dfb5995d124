"""The node's pages (/verify, /registry) and their assets: one set of security headers, nothing inline that the
Content-Security-Policy would block, every referenced asset served from this origin."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest
from fastapi.testclient import TestClient

from api.pages import PAGE_HEADERS

PAGES = ("/verify", "/registry")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from api.app import create_app
    from node.settings import Settings

    tmp = tmp_path_factory.mktemp("pages")
    with TestClient(
        create_app(Settings(data_dir=tmp, database_url=f"sqlite:///{tmp / 'p.db'}", _env_file=None))
    ) as c:
        yield c


def _assert_page_headers(r) -> None:
    assert r.status_code == 200, r.url
    for name, value in PAGE_HEADERS.items():
        assert r.headers.get(name) == value, (r.url, name)


@pytest.mark.parametrize("path", PAGES)
def test_page_and_assets_share_one_header_set(client, path):
    page = client.get(path)
    _assert_page_headers(page)
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    refs = re.findall(r'(?:src|href)="([^"#]+)"', page.text)
    assets = [ref for ref in refs if not ref.startswith(("/v1/", "http:", "https:", "//"))]
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets), assets
    for ref in assets:
        asset = client.get(urljoin(f"http://testserver{path}", ref))
        _assert_page_headers(asset)
        kind = "text/javascript" if ref.endswith(".js") else "text/css"
        assert asset.headers["content-type"] == f"{kind}; charset=utf-8", ref


@pytest.mark.parametrize("path", PAGES)
def test_nothing_inline_that_the_policy_blocks(client, path):
    html = client.get(path).text
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    assert "http://" not in html and "https://" not in html  # no CDN


@pytest.mark.parametrize("path", PAGES)
def test_trailing_slash_redirects_to_the_page(client, path):
    r = client.get(path + "/", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == path


def test_pages_are_not_in_the_openapi_document(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not any(p == page or p.startswith(page + "/") for p in paths for page in PAGES)
