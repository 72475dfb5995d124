"""The eu-microcredential profile: the 11 mandatory elements, OB 3.0 and ELM v3 shapes."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from node.issuance.profiles import EU_ELEMENTS, UnknownProfile, check_profile

EXAMPLES = Path(__file__).resolve().parents[2] / "scripts" / "examples"
P = "eu-microcredential"


def load(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def missing(c: dict) -> list[str]:
    return [e.element for e in check_profile(P, c)]


def test_complete_examples_conform():
    assert missing(load("ob3-microcredential.json")) == []
    assert missing(load("elm-microcredential.json")) == []


def test_incomplete_example_names_every_missing_element():
    errs = check_profile(P, load("ob3-microcredential-incomplete.json"))
    assert [e.element for e in errs] == [
        "issuerCountry",
        "learningOutcomes",
        "workload",
        "level",
        "assessment",
        "participation",
        "qualityAssurance",
    ]
    for e in errs:
        assert e.label in e.message and e.pointer.startswith("/")


def test_empty_object_misses_all_eleven():
    assert missing({}) == [e.key for e in EU_ELEMENTS]
    assert len(EU_ELEMENTS) == 11


def _drop(doc: dict, path: str) -> None:
    node = doc
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if isinstance(node, list):
        del node[int(parts[-1])]
    else:
        del node[parts[-1]]


A = "credentialSubject.achievement"
OB3_REMOVALS = {
    "learnerIdentification": ["credentialSubject.id", "credentialSubject.identifier"],
    "title": [f"{A}.name"],
    "issuerCountry": ["issuer.address"],
    "awardingBody": ["issuer.name"],
    "dateOfIssuing": ["validFrom", "awardedDate"],
    "learningOutcomes": [f"{A}.learningOutcomes", f"{A}.alignment.0"],
    "workload": [f"{A}.creditsAvailable", "credentialSubject.creditsEarned"],
    "level": [f"{A}.eqfLevel", f"{A}.alignment.1"],
    "assessment": [f"{A}.assessmentType"],
    "participation": [f"{A}.participationForm"],
    "qualityAssurance": [f"{A}.qualityAssurance"],
}
C = "credentialSubject.hasClaim.0"
ELM_REMOVALS = {
    "learnerIdentification": [
        "credentialSubject.id",
        "credentialSubject.identifier",
        "credentialSubject.givenName",
        "credentialSubject.familyName",
    ],
    "title": [f"{C}.title", f"{C}.specifiedBy.title"],
    "issuerCountry": ["issuer.location"],
    "awardingBody": ["issuer.legalName", f"{C}.awardedBy.awardingBody"],
    "dateOfIssuing": ["issuanceDate", "issued", f"{C}.awardedBy.awardingDate"],
    "learningOutcomes": [f"{C}.specifiedBy.learningOutcome"],
    "workload": [f"{C}.specifiedBy.volumeOfLearning", f"{C}.specifiedBy.creditPoint"],
    "level": [f"{C}.specifiedBy.eqfLevel"],
    "assessment": [f"{C}.wasDerivedFrom"],
    "participation": [f"{C}.specifiedBy.mode", f"{C}.specifiedBy.learningSetting"],
    "qualityAssurance": ["issuer.accreditation"],
}


@pytest.mark.parametrize("element", list(OB3_REMOVALS))
def test_each_element_detected_in_ob3(element):
    doc = load("ob3-microcredential.json")
    for path in OB3_REMOVALS[element]:
        _drop(doc, path)
    assert missing(doc) == [element]


@pytest.mark.parametrize("element", list(ELM_REMOVALS))
def test_each_element_detected_in_elm(element):
    doc = load("elm-microcredential.json")
    for path in ELM_REMOVALS[element]:
        _drop(doc, path)
    assert missing(doc) == [element]


def test_empty_values_do_not_count():
    doc = load("ob3-microcredential.json")
    doc["credentialSubject"]["achievement"]["learningOutcomes"] = ["", "  "]
    doc["credentialSubject"]["achievement"]["alignment"] = [
        doc["credentialSubject"]["achievement"]["alignment"][1]
    ]
    doc["credentialSubject"]["achievement"]["qualityAssurance"] = {"en": ""}
    assert missing(doc) == ["learningOutcomes", "qualityAssurance"]


def test_elm_learning_achievement_shape_is_accepted():
    doc = load("elm-microcredential.json")
    subj = doc["credentialSubject"]
    subj["learningAchievement"] = subj.pop("hasClaim")
    assert missing(doc) == []


def test_no_profile_and_unknown_profile():
    assert check_profile(None, {}) == []
    with pytest.raises(UnknownProfile):
        check_profile("nope", {})


def test_api_rejects_with_every_missing_element_named_and_stores_nothing(client, issuer, engine):
    from tests.helpers.db import count_rows

    r = client.post(
        "/v1/credentials?profile=eu-microcredential",
        headers=issuer.headers,
        json=load("ob3-microcredential-incomplete.json"),
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert [e["field"] for e in body["errors"]] == [
        "issuerCountry",
        "learningOutcomes",
        "workload",
        "level",
        "assessment",
        "participation",
        "qualityAssurance",
    ]
    assert count_rows(engine, "credential") == 0
    for name in ("ob3-microcredential.json", "elm-microcredential.json"):
        r = client.post("/v1/credentials?profile=eu-microcredential", headers=issuer.headers, json=load(name))
        assert r.status_code == 202, r.text
    # bulk: the bad item is named by index
    items = [load("ob3-microcredential.json"), copy.deepcopy(load("ob3-microcredential-incomplete.json"))]
    items[0]["id"] = "urn:uuid:other"
    r = client.post("/v1/credentials/bulk?profile=eu-microcredential", headers=issuer.headers, json=items)
    assert r.status_code == 422
    assert {e["index"] for e in r.json()["errors"]} == {1}
    assert r.json()["errors"][0]["pointer"].startswith("/1/")
    assert count_rows(engine, "credential") == 2
    r = client.post("/v1/credentials?profile=bogus", headers=issuer.headers, json={"a": 1})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.profile"
