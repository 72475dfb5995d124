"""Share links through the API: made at issuance (?share_link=true) or later, the human page of real credentials
(tests/samples, sources in tests/samples/README.md), the downloads, revocation, expiry, and the bad cases.

Nothing about a credential is public without its token: unknown, withdrawn and expired links answer a page that
names no one."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from node.registry.accreditation import store_document
from node.settings import Settings
from node.storage.models import utcnow
from tests.helpers.db import make_issuer
from tests.helpers.problems import assert_problem
from tests.helpers.samples import EC_ANNEX1, MYNEXTID_OB3, load


@pytest.fixture
def settings(db_url, tmp_path):
    """Default limits: the real ELM sample is larger than the small test limit. The real samples name their own
    issuers: the W3C VC rules (tested in test_vc_issuance.py) are off here."""
    return Settings(data_dir=tmp_path / "data", database_url=db_url, vc_validation="off", _env_file=None)


def _issue(client, issuer, cred, query=""):
    r = client.post(f"/v1/credentials{query}", json=cred, headers=issuer.headers)
    assert r.status_code == 202, r.text
    return r.json()


def _token(url: str) -> str:
    return url.rsplit("/s/", 1)[1]


def test_a_share_link_made_at_issuance_opens_the_human_page(client, issuer, session_factory):
    with session_factory() as s:  # the organisation's name as its accreditation document gives it
        store_document(s, issuer.address, json.dumps({"subject": {"name": "Universiteit van Zed"}}))
        s.commit()
    out = _issue(client, issuer, load(EC_ANNEX1), "?share_link=true")
    link = out["shareLink"]
    assert link["url"].startswith("http://testserver/s/") and link["expiresAt"] is None
    token = _token(link["url"])
    assert len(token) >= 43

    page = client.get(f"/s/{token}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    for text in (
        "Digital micro-credential creation",
        "Ana Andromeda",
        "Universiteit van Zed",
        "University of Zed",  # the awarding body the credential names
        "2 ECTS",
        "EQF level 6",
        "develop digital content",
        "Digital artefact assessment, grade: Pass",
        "2022-12-31T23:00:00Z",
        "anchoring under way (pending)",
    ):
        assert text in html, text

    vc = client.get(f"/s/{token}/credential.json")
    assert vc.status_code == 200 and vc.json() == load(EC_ANNEX1)
    assert "attachment" in vc.headers["content-disposition"]
    assert_problem(client.get(f"/s/{token}/bundle.json"), 409)  # not anchored yet
    pdf = client.get(f"/s/{token}/credential.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"


def test_later_links_list_revoke_and_expire(client, issuer, engine):
    digest = _issue(client, issuer, load(MYNEXTID_OB3))["digest"]
    r = client.post(
        f"/v1/credentials/{digest}/share-links",
        json={"expiresInDays": 30, "label": "for my CV"},
        headers=issuer.headers,
    )
    assert r.status_code == 201, r.text
    made = r.json()
    token = _token(made["url"])
    assert "Data Science Fundamentals" in client.get(f"/s/{token}").text
    other = _token(
        client.post(f"/v1/credentials/{digest}/share-links", json={}, headers=issuer.headers).json()["url"]
    )

    listed = client.get(
        f"/v1/credentials/{digest}/share-links", headers={"Authorization": f"Bearer {issuer.reader_token}"}
    )
    assert [x["label"] for x in listed.json()] == ["for my CV", None]
    assert token not in listed.text and "url" not in listed.json()[0]
    with engine.connect() as c:  # only the hash is stored
        assert token not in json.dumps(
            [list(map(str, row)) for row in c.execute(sa.text("SELECT * FROM share_link"))]
        )

    gone = client.delete(f"/v1/credentials/{digest}/share-links/{made['id']}", headers=issuer.headers)
    assert gone.status_code == 200 and gone.json()["revokedAt"]
    again = client.delete(f"/v1/credentials/{digest}/share-links/{made['id']}", headers=issuer.headers)
    assert again.json()["revokedAt"] == gone.json()["revokedAt"]  # idempotent
    for path in (f"/s/{token}", f"/s/{token}/credential.json", f"/s/{token}/credential.pdf"):
        page = client.get(path)
        assert page.status_code == 410 and "withdrawn" in page.text
        assert "Data Science" not in page.text and "NETIS" not in page.text

    with engine.begin() as c:
        c.execute(
            sa.text("UPDATE share_link SET expires_at = :t WHERE revoked_at IS NULL"),
            {"t": utcnow() - timedelta(seconds=1)},
        )
    page = client.get(f"/s/{other}")
    assert page.status_code == 410 and "expired" in page.text and "Data Science" not in page.text

    unknown = client.get("/s/" + "A" * 43)
    assert unknown.status_code == 404 and "No such link" in unknown.text
    assert client.get("/s/short").status_code == 404
    assert client.get("/s/" + "A" * 43 + "/bundle.json").status_code == 404


def test_bad_requests_name_the_field(client, issuer, session_factory):
    digest = _issue(client, issuer, load(MYNEXTID_OB3))["digest"]
    url = f"/v1/credentials/{digest}/share-links"
    assert_problem(client.post(url, json={"expiresInDays": 0}, headers=issuer.headers), 422, "expiresInDays")
    assert_problem(
        client.post(url, json={"expiresInDays": 99999}, headers=issuer.headers), 422, "expiresInDays"
    )
    assert_problem(client.post(url, json={"sendTo": "not an address"}, headers=issuer.headers), 422, "sendTo")
    assert_problem(client.post(url, json={"colour": "red"}, headers=issuer.headers), 422, "colour")
    assert_problem(
        client.post(url, json={"expiresAt": "2001-01-01T00:00:00Z"}, headers=issuer.headers), 422, "expiresAt"
    )
    assert_problem(
        client.post(
            url, json={"expiresAt": "2999-01-01T00:00:00Z", "expiresInDays": 2}, headers=issuer.headers
        ),
        422,
        "expiresInDays",
    )
    assert_problem(client.post(url, json={}), 401)
    assert_problem(client.post(url, json={}, headers={"Authorization": f"Bearer {issuer.reader_token}"}), 403)
    stranger = make_issuer(session_factory, "Other Uni", "0x" + "22" * 20)
    assert_problem(client.post(url, json={}, headers=stranger.headers), 404, "path.digest")
    assert_problem(client.delete(f"{url}/1", headers=stranger.headers), 404)
    assert_problem(client.delete(f"{url}/999", headers=issuer.headers), 404, "path.link_id")
    assert_problem(
        client.post("/v1/credentials/0x12/share-links", json={}, headers=issuer.headers), 422, "path.digest"
    )
    with session_factory() as s:
        assert s.execute(sa.text("SELECT count(*) FROM share_link")).scalar() == 0


def test_the_cli_makes_lists_and_revokes_links(app, issuer, client):
    from typer.testing import CliRunner

    from node.cli import app as cli
    from tests.helpers.servers import serving

    digest = _issue(client, issuer, load(MYNEXTID_OB3))["digest"]
    runner = CliRunner()
    with serving(app) as base:
        env = {"CREDREG_URL": base, "CREDREG_TOKEN": issuer.token}
        made = runner.invoke(cli, ["share", "create", digest, "--days", "7", "--label", "cv"], env=env)
        assert made.exit_code == 0, made.output
        url = made.stdout.strip().splitlines()[0]
        assert url.startswith(base + "/s/") and client.get(url.replace(base, "")).status_code == 200
        listed = runner.invoke(cli, ["share", "list", digest], env=env)
        assert listed.exit_code == 0 and "\tcv" in listed.stdout and "expires" in listed.stdout
        link_id = listed.stdout.split("\t", 1)[0]
        assert runner.invoke(cli, ["share", "revoke", digest, link_id], env=env).exit_code == 0
        assert client.get(url.replace(base, "")).status_code == 410
        bad = runner.invoke(cli, ["share", "create", digest, "--days", "0"], env=env)
        assert bad.exit_code == 1 and "expiresInDays" in bad.output


def test_a_revoked_credential_says_why_in_words_on_its_page(client, issuer, session_factory):
    from node.storage.models import Credential
    from node.storage.revocation_tables import CredentialStatusState

    out = _issue(client, issuer, load(MYNEXTID_OB3), "?share_link=true")
    token = _token(out["shareLink"]["url"])
    with session_factory() as s:  # as the revoker records a confirmed revocation
        cred = s.exec(sa.select(Credential).where(Credential.digest == out["digest"])).scalar_one()
        s.add(
            CredentialStatusState(
                credential_id=cred.id,
                issuer_id=issuer.id,
                digest=out["digest"],
                target="revoked",
                target_reason=102,
                confirmed="revoked",
                confirmed_reason=102,
                confirmed_at=utcnow(),
            )
        )
        s.commit()
    html = client.get(f"/s/{token}").text
    assert (
        f"Revoked on {utcnow():%Y-%m-%d}: academic misconduct found after the award (academicMisconduct)"
        in html
    )
    assert "102" not in html.split("<main>")[0]


def test_a_sealed_edc_credential_is_shown_from_its_payload(client, issuer):
    from tests.helpers.samples import MYNEXTID_EDC_SEALED

    out = _issue(client, issuer, load(MYNEXTID_EDC_SEALED), "?share_link=true")
    token = _token(out["shareLink"]["url"])
    html = client.get(f"/s/{token}").text
    assert "Title of your learning achievement" in html and "Joe Done" in html and "5 ECTS" in html
    assert client.get(f"/s/{token}/credential.json").json() == load(
        MYNEXTID_EDC_SEALED
    )  # the envelope, seal kept
