"""Real European and Open Badges credentials through the API and the `credreg issue` CLI, with and without the
EU micro-credential profile, sealed (JAdES) and unsealed, at their real sizes.

Data: the Commission's ELM v3 samples, MyNextID's EDC and OB 3.0 micro-credentials, the 1EdTech OB 3.0 spec
examples (tests/samples/README.md names source, commit and licence), credreg's examples, and seals made by a test
e-seal (tests/helpers/samples.py). The settings are the node's defaults, not the small test limits.
"""

from __future__ import annotations

import copy
import json
import shutil

import pytest
import rfc8785
import sqlalchemy as sa
from typer.testing import CliRunner

from node.cli import app as cli
from node.issuance.envelopes import open_envelope
from node.issuance.profiles import EU_ELEMENTS
from node.settings import Settings
from tests.helpers.db import count_rows
from tests.helpers.problems import assert_problem
from tests.helpers.samples import (
    EC_ANNEX1,
    EC_ANNEX1_SEALED,
    EXAMPLES,
    MYNEXTID_EDC,
    MYNEXTID_EDC_SEALED,
    MYNEXTID_OB3,
    OB3_SPEC_FULL,
    TestSeal,
    example,
    load,
    payload_of,
    remove_element,
)
from tests.helpers.servers import serving

KEYS = [e.key for e in EU_ELEMENTS]
PROFILE = "?profile=eu-microcredential"
runner = CliRunner()


@pytest.fixture
def settings(db_url, tmp_path):
    """The node's default limits (this module is about real sizes), on the test database. Real Europass
    samples name their own issuer URNs, not the test token's DID: the W3C VC rules are off here."""
    return Settings(data_dir=tmp_path / "data", database_url=db_url, vc_validation="off", _env_file=None)


def stored(engine, digest: str) -> dict:
    with engine.connect() as c:
        row = c.execute(
            sa.text("SELECT canonical, external_id, profile FROM credential WHERE digest = :d"), {"d": digest}
        ).one()
    return {"canonical": bytes(row[0]), "external_id": row[1], "profile": row[2]}


# ------------------------------------------------------------------------------------------ without a profile
def test_the_default_limit_fits_real_edc_credentials():
    limit = Settings(_env_file=None).max_credential_bytes
    assert limit >= 1024 * 1024
    assert MYNEXTID_EDC_SEALED.stat().st_size > 500_000 and MYNEXTID_EDC.stat().st_size > 490_000


def test_real_credentials_are_accepted_without_a_profile(client, issuer, engine):
    for path in (EC_ANNEX1, MYNEXTID_EDC, MYNEXTID_OB3, OB3_SPEC_FULL):
        doc = load(path)
        r = client.post("/v1/credentials", headers=issuer.headers, json=doc)
        assert r.status_code == 202, (path.name, r.text)
        body = r.json()
        assert "seal" not in body and "profile" not in body
        row = stored(engine, body["digest"])
        assert row["canonical"] == rfc8785.dumps(doc) and row["external_id"] == doc.get("id")


def test_a_sealed_edc_is_opened_its_seal_reported_and_the_envelope_stored_as_sent(client, issuer, engine):
    envelope = load(EC_ANNEX1_SEALED)
    r = client.post("/v1/credentials", headers=issuer.headers, json=envelope)
    assert r.status_code == 202, r.text
    seal = r.json()["seal"]
    assert (seal["format"], seal["status"], seal["payloadEncoding"]) == ("JAdES", "valid", "unencoded")
    [sig] = seal["signatures"]
    assert (
        sig["alg"] == "RS256" and sig["keySource"] == "x5c" and sig["signingTime"] == "2023-09-27T11:54:17Z"
    )
    cert = sig["certificate"]
    assert "CN=TEST SEAL" in cert["subject"] and "ANF AC Qualified Certificates for eSeal" in cert["issuer"]
    assert cert["notAfter"] == "2025-05-10T14:31:15Z" and cert["expired"] is True  # reported, not refused
    assert cert["validAtSigningTime"] is True and any("expired" in n for n in sig["notes"])
    assert "not checked" in seal["trust"]
    # the payload is the credential (its id is the credential id); the envelope, byte for byte, is what is stored
    row = stored(engine, r.json()["digest"])
    assert row["external_id"] == payload_of(envelope)["id"]
    assert row["canonical"] == rfc8785.dumps(envelope)
    kept = json.loads(row["canonical"])
    assert kept["payload"] == envelope["payload"]
    reopened = open_envelope(kept)
    assert reopened is not None and reopened.seal.status == "valid"  # the stored seal still verifies
    status = client.get(f"/v1/credentials/{r.json()['digest']}", headers=issuer.headers).json()
    assert status["id"] == payload_of(envelope)["id"]
    # an idempotent replay reports the seal again
    again = client.post("/v1/credentials", headers=issuer.headers, json=envelope)
    assert (
        again.status_code == 202
        and again.json()["created"] is False
        and again.json()["seal"]["status"] == "valid"
    )


def test_the_513_kb_sealed_mynextid_edc_is_accepted_alone_and_in_bulk(client, issuer, engine):
    # the files as published, byte for byte (the sealed one as JSON-LD)
    ld = {**issuer.headers, "Content-Type": "application/ld+json"}
    r = client.post("/v1/credentials", headers=ld, content=MYNEXTID_EDC_SEALED.read_bytes())
    assert r.status_code == 202, r.text
    cert = r.json()["seal"]["signatures"][0]["certificate"]
    assert "CN=VELOCERT OU" in cert["subject"] and cert["expired"] is False
    # the unsigned example carries the same credential id with other content: the payload's id is the credential's
    plain = {**issuer.headers, "Content-Type": "application/json"}
    r = client.post("/v1/credentials", headers=plain, content=MYNEXTID_EDC.read_bytes())
    body = assert_problem(r, 409, "id")
    assert payload_of(load(MYNEXTID_EDC_SEALED))["id"] in body["errors"][0]["message"]
    # and in one bulk request, beside an Open Badge
    items = [load(MYNEXTID_EDC_SEALED), load(EC_ANNEX1_SEALED), example("ob3-microcredential.json")]
    r = client.post("/v1/credentials/bulk", headers=issuer.headers, json=items)
    assert r.status_code == 202, r.text
    got = r.json()["items"]
    assert (
        got[0]["seal"]["status"] == "valid" and got[1]["seal"]["status"] == "valid" and "seal" not in got[2]
    )
    assert count_rows(engine, "credential") == 3  # the sealed MyNextID credential was a replay


def test_a_tampered_seal_is_refused_and_nothing_is_stored(client, issuer, engine):
    envelope = load(EC_ANNEX1_SEALED)
    tampered = dict(
        envelope, payload=envelope["payload"].replace("Digital micro-credential", "Digital micro-credentiaI")
    )
    body = assert_problem(
        client.post("/v1/credentials", headers=issuer.headers, json=tampered), 422, "signatures[0].signature"
    )
    assert (
        "does not verify" in body["errors"][0]["message"] and "CN=TEST SEAL" in body["errors"][0]["message"]
    )
    # in bulk: the index, the credential's id (read from the payload) and the signature
    r = client.post(
        "/v1/credentials/bulk", headers=issuer.headers, json=[example("ob3-microcredential.json"), tampered]
    )
    body = assert_problem(r, 422, "[1].signatures[0].signature")
    [err] = body["errors"]
    assert (
        err["index"] == 1
        and err["id"] == payload_of(envelope)["id"]
        and err["pointer"] == "/1/signatures/0/signature"
    )
    assert count_rows(engine, "credential") == 0


# ------------------------------------------------------------------------------------------ with the profile
def test_passing_credentials_report_the_path_of_every_element(client, issuer):
    for name, vocabulary in (("elm-microcredential.json", "elm"), ("ob3-microcredential.json", "ob3")):
        r = client.post(f"/v1/credentials{PROFILE}", headers=issuer.headers, json=example(name))
        assert r.status_code == 202, r.text
        profile = r.json()["profile"]
        assert profile["passed"] is True and profile["vocabulary"] == vocabulary and profile["missing"] == []
        assert list(profile["elements"]) == KEYS
    assert profile["elements"]["level"] == "/credentialSubject/achievement/alignment/2"
    assert profile["elements"]["participation"] == "/credentialSubject/achievement/mode"


def test_the_commissions_annex1_sample_is_refused_for_quality_assurance_only(client, issuer, engine):
    body = assert_problem(
        client.post(f"/v1/credentials{PROFILE}", headers=issuer.headers, json=load(EC_ANNEX1)), 422
    )
    [err] = body["errors"]
    assert err["field"] == "qualityAssurance" and err["vocabulary"] == "elm"
    assert (
        "issuer.accreditation" in err["paths"]
        and err["hint"]
        and err["pointer"].startswith("/credentialSubject")
    )
    # sealed: the same verdict, on the payload
    body = assert_problem(
        client.post(f"/v1/credentials{PROFILE}", headers=issuer.headers, json=load(EC_ANNEX1_SEALED)), 422
    )
    assert [(e["field"], e["pointer"]) for e in body["errors"]] == [("payload.qualityAssurance", "/payload")]
    assert count_rows(engine, "credential") == 0


def test_a_sealed_credential_that_passes_reports_profile_and_seal(client, issuer, engine):
    credential = example("elm-microcredential.json")
    credential["id"] = "urn:credential:sealed-by-a-test-seal"
    envelope = TestSeal.create().seal(credential)
    r = client.post(f"/v1/credentials{PROFILE}", headers=issuer.headers, json=envelope)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["profile"]["passed"] and body["seal"]["status"] == "valid"
    assert body["seal"]["signatures"][0]["certificate"]["chainLinked"] is True
    row = stored(engine, body["digest"])
    assert row["profile"] == "eu-microcredential" and row["external_id"] == credential["id"]


def test_each_annex1_element_removed_is_a_422_naming_it_and_its_paths(client, issuer, engine):
    for name, vocabulary in (("elm-microcredential.json", "elm"), ("ob3-microcredential.json", "ob3")):
        for element in KEYS:
            doc = example(name)
            assert remove_element(doc, element, vocabulary) > 0
            body = assert_problem(
                client.post(f"/v1/credentials{PROFILE}", headers=issuer.headers, json=doc), 422
            )
            [err] = body["errors"]
            assert err["field"] == element and err["vocabulary"] == vocabulary, err
            assert 1 <= len(err["paths"]) <= 3 and all(p in err["message"] for p in err["paths"])
    assert count_rows(engine, "credential") == 0


def test_bulk_errors_name_the_index_and_the_credential_id(client, issuer, engine):
    items = []
    for i, element in enumerate(KEYS):
        doc = example("ob3-microcredential.json")
        doc["id"] = f"urn:uuid:bulk-{i}-{element}"
        remove_element(doc, element, "ob3")
        items.append(doc)
    items.append(example("elm-microcredential.json"))  # a good one: the request is still all or nothing
    body = assert_problem(
        client.post(f"/v1/credentials/bulk{PROFILE}", headers=issuer.headers, json=items), 422
    )
    assert len(body["errors"]) == len(KEYS)
    for i, (element, err) in enumerate(zip(KEYS, body["errors"], strict=True)):
        assert err["index"] == i and err["id"] == f"urn:uuid:bulk-{i}-{element}"
        assert err["field"] == f"[{i}].{element}" and err["pointer"].startswith(f"/{i}/")
        assert err["hint"] and err["paths"]
    assert count_rows(engine, "credential") == 0


# ------------------------------------------------------------------------------------------ the limits, named
def test_each_413_names_its_setting_and_limit(engine, issuer, tmp_path):
    from fastapi.testclient import TestClient

    from api.app import create_app

    small = Settings(
        data_dir=tmp_path / "small",
        database_url=engine.url.render_as_string(hide_password=False),
        max_credential_bytes=200_000,
        max_request_bytes=700_000,
        max_bulk_items=3,
        vc_validation="off",
        _env_file=None,
    )
    with TestClient(create_app(small, engine=engine), raise_server_exceptions=False) as c:
        h = {**issuer.headers, "Content-Type": "application/json"}
        body = assert_problem(
            c.post("/v1/credentials", headers=h, content=MYNEXTID_EDC.read_bytes()), 413, "body"
        )
        assert "CREDREG_MAX_CREDENTIAL_BYTES" in body["detail"] and "200000" in body["detail"]
        assert (
            body["errors"][0]["setting"] == "CREDREG_MAX_CREDENTIAL_BYTES"
            and body["errors"][0]["limit"] == 200_000
        )
        big = json.dumps([load(MYNEXTID_EDC), load(MYNEXTID_EDC)]).encode()
        body = assert_problem(c.post("/v1/credentials/bulk", headers=h, content=big), 413, "body")
        assert "CREDREG_MAX_REQUEST_BYTES" in body["detail"] and body["errors"][0]["limit"] == 700_000
        body = assert_problem(
            c.post("/v1/credentials/bulk", headers=h, json=[{"n": i} for i in range(4)]), 413
        )
        assert (
            "CREDREG_MAX_BULK_ITEMS" in body["detail"]
            and body["errors"][0]["setting"] == "CREDREG_MAX_BULK_ITEMS"
        )
        # one item over the credential limit inside a bulk body under the request limit: its index and id
        item = load(MYNEXTID_EDC)
        body = assert_problem(c.post("/v1/credentials/bulk", headers=h, json=[{"n": 1}, item]), 413)
        [err] = body["errors"]
        assert (
            err["index"] == 1 and err["id"] == item["id"] and err["setting"] == "CREDREG_MAX_CREDENTIAL_BYTES"
        )
        assert "CREDREG_MAX_CREDENTIAL_BYTES" in body["detail"]
    assert count_rows(engine, "credential") == 0


# ------------------------------------------------------------------------------------------ the CLI
def _cli(base_url: str, token: str, *args: str):
    return runner.invoke(cli, ["issue", *args, "--url", base_url, "--token", token, "--no-wait"])


def test_cli_names_the_file_item_id_and_element_of_each_rejection(app, issuer, engine, tmp_path):
    folder = tmp_path / "creds"
    folder.mkdir()
    shutil.copy(EC_ANNEX1, folder / "ec-annex1.jsonld")  # a *.jsonld file: found in the folder too
    shutil.copy(EXAMPLES / "ob3-microcredential.json", folder / "good.json")
    good = example("ob3-microcredential.json")
    good["id"] = "urn:uuid:cohort-good"
    bad = copy.deepcopy(good)
    bad["id"] = "urn:uuid:cohort-no-level"
    remove_element(bad, "level", "ob3")
    (folder / "cohort.json").write_text(json.dumps([good, bad]))
    with serving(app) as url:
        result = _cli(url, issuer.token, str(folder), "--profile", "eu-microcredential")
    assert result.exit_code == 1, result.output
    out = result.output
    assert "rejected" in out and "2 item(s) failed validation" in out
    annex = load(EC_ANNEX1)["id"]
    assert f"ec-annex1.jsonld ({annex}): missing type of quality assurance" in out
    assert "issuer.accreditation" in out
    assert "cohort.json[1] (urn:uuid:cohort-no-level): missing level" in out
    assert "credentialSubject.achievement.alignment" in out
    assert "good.json" not in out.split("rejected", 1)[1] and "cohort.json[0]" not in out
    assert count_rows(engine, "credential") == 0


def test_cli_issues_sealed_jsonld_files_in_byte_bounded_chunks(app, issuer, engine, tmp_path):
    folder = tmp_path / "creds"
    folder.mkdir()
    shutil.copy(MYNEXTID_EDC_SEALED, folder / "mynextid-sealed.jsonld")
    shutil.copy(EC_ANNEX1_SEALED, folder / "ec-sealed.jsonld")
    (folder / "cohort.json").write_text(
        json.dumps([example("ob3-microcredential.json"), example("elm-microcredential.json")])
    )
    with serving(app) as url:
        # 600 kB a request: the 513 kB sealed file goes alone, the rest together
        result = _cli(url, issuer.token, str(folder), "--chunk-bytes", "600000")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("0x")]
    assert len(lines) == 4 and sorted(line.split()[1] for line in lines) == [
        "cohort-0",
        "cohort-1",
        "ec-sealed",
        "mynextid-sealed",
    ]
    assert count_rows(engine, "credential") == 4


def test_cli_says_which_chunks_were_accepted_before_a_rejected_one(app, issuer, engine, tmp_path):
    folder = tmp_path / "creds"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(example("ob3-microcredential.json")))
    (folder / "b.json").write_text(json.dumps(example("ob3-microcredential-incomplete.json")))
    with serving(app) as url:
        result = _cli(url, issuer.token, str(folder), "--profile", "eu-microcredential", "--chunk", "1")
    assert result.exit_code == 1, result.output
    assert "the 1 credentials before it were accepted" in result.output
    assert (
        "b.json (urn:uuid:0d6a3c8e-5b1f-4c7e-8a2d-6f9e1b4c3a77): missing learning outcomes" in result.output
    )
    assert count_rows(engine, "credential") == 1
