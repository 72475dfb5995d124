"""The eu-microcredential profile on real credentials: the Commission's ELM v3 samples, a third-party EDC, the 1EdTech
Open Badges 3.0 spec examples (tests/samples/README.md names their sources), and credreg's own examples.

Each of the 11 Annex I elements is removed, one at a time, from a passing credential of each vocabulary: exactly that
element is reported, with two or three paths of that credential's own vocabulary.
"""

from __future__ import annotations

import copy

import pytest

from node.issuance.profiles import (
    EU_ELEMENTS,
    UnknownProfile,
    check_profile,
    detect_vocabulary,
    evaluate_profile,
)
from tests.helpers.samples import (
    EC_ANNEX1,
    EC_ANNEX1_SEALED,
    EC_CERT_OF_PARTICIPATION_SEALED,
    MYNEXTID_EDC,
    MYNEXTID_OB3,
    OB3_SPEC_BASIC,
    OB3_SPEC_FULL,
    ec_annex1_accredited,
    example,
    load,
    payload_of,
    remove_element,
)

P = "eu-microcredential"
KEYS = [e.key for e in EU_ELEMENTS]


def missing(doc: dict) -> list[str]:
    return [e.element for e in check_profile(P, doc)]


def report(doc: dict):
    r = evaluate_profile(P, doc)
    assert r is not None
    return r


# --------------------------------------------------------------------------------------------- real samples
def test_the_commissions_annex1_sample_lacks_only_quality_assurance():
    """Sample-MC-Annex1 (European-Learning-Model @ 9d7c5d2) carries ten of the eleven elements where ELM v3 puts them;
    it has no elm:Accreditation anywhere (no issuer, awarding body, qualification or evidence accreditation), which
    is where the EDC application profile records quality assurance."""
    for doc in (load(EC_ANNEX1), payload_of(load(EC_ANNEX1_SEALED))):
        r = report(doc)
        assert r.vocabulary == "elm"
        assert [e.element for e in r.errors] == ["qualityAssurance"]
        assert r.found["assessment"] == "/credentialSubject/hasClaim/provenBy/specifiedBy/dcType"
        assert r.found["participation"] == "/credentialSubject/hasClaim/specifiedBy/mode"
        assert r.found["workload"] == "/credentialSubject/hasClaim/specifiedBy/creditPoint"
        assert r.found["level"] == "/credentialSubject/hasClaim/specifiedBy/eqfLevel"
        assert r.found["learningOutcomes"] == "/credentialSubject/hasClaim/specifiedBy/learningOutcome/0"
        [qa] = r.errors
        assert qa.paths == (
            "credentialSubject.hasClaim.specifiedBy.accreditation",
            "issuer.accreditation",
            "credentialSubject.hasClaim.awardedBy.awardingBody.accreditation",
        )
        assert "Accreditation" in qa.message and "issuer.accreditation" in qa.message


def test_the_annex1_sample_with_an_accreditation_passes_and_reports_every_path():
    r = report(ec_annex1_accredited())
    assert r.passed and r.errors == []
    assert list(r.found) == KEYS
    assert r.found["qualityAssurance"] == "/issuer/accreditation"
    assert r.found["learnerIdentification"] == "/credentialSubject/fullName"
    assert r.as_dict()["elements"] == r.found and r.as_dict()["missing"] == []


@pytest.mark.parametrize(
    ("path", "vocabulary", "expected"),
    [
        # MyNextID EDC micro-credential (issued by mandate, evidence type "Mandate"): no accreditation either
        (MYNEXTID_EDC, "elm", ["qualityAssurance"]),
        # a certificate of participation is a LearningActivity, not a micro-credential
        (
            EC_CERT_OF_PARTICIPATION_SEALED,
            "elm",
            ["learningOutcomes", "level", "assessment", "qualityAssurance"],
        ),
        # the same provider's Open Badge: no issuer address, no EQF alignment, no resultDescription, no endorsement
        (MYNEXTID_OB3, "ob3", ["issuerCountry", "level", "assessment", "participation", "qualityAssurance"]),
        # the 1EdTech spec's complete badge: endorsed by an accrediting agency, but no level and no mode
        (OB3_SPEC_FULL, "ob3", ["level", "participation"]),
        (
            OB3_SPEC_BASIC,
            "ob3",
            [
                "issuerCountry",
                "learningOutcomes",
                "workload",
                "level",
                "assessment",
                "participation",
                "qualityAssurance",
            ],
        ),
    ],
)
def test_real_credentials_fail_on_what_they_really_lack(path, vocabulary, expected):
    doc = load(path)
    if "signatures" in doc:
        doc = payload_of(doc)
    r = report(doc)
    assert r.vocabulary == vocabulary
    assert [e.element for e in r.errors] == expected
    assert set(r.found) == set(KEYS) - set(expected)


# --------------------------------------------------------------------------------------------- credreg's examples
def test_credregs_examples_conform_and_the_incomplete_one_names_seven_elements():
    assert missing(example("ob3-microcredential.json")) == []
    assert missing(example("elm-microcredential.json")) == []
    errs = check_profile(P, example("ob3-microcredential-incomplete.json"))
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
        assert e.vocabulary == "ob3" and e.pointer.startswith("/") and e.label in e.message


PASSING = {
    "EC Annex I sample + accreditation": (ec_annex1_accredited, "elm"),
    "credreg ELM example": (lambda: example("elm-microcredential.json"), "elm"),
    "credreg OB 3.0 example": (lambda: example("ob3-microcredential.json"), "ob3"),
}


@pytest.mark.parametrize("element", KEYS)
@pytest.mark.parametrize("sample", list(PASSING))
def test_each_element_removed_alone_is_the_one_reported_with_paths_of_that_vocabulary(sample, element):
    build, vocabulary = PASSING[sample]
    doc = build()
    assert missing(doc) == []
    assert remove_element(doc, element, vocabulary) > 0
    [err] = check_profile(P, doc)
    assert err.element == element and err.vocabulary == vocabulary
    assert 1 <= len(err.paths) <= 3
    if vocabulary == "ob3":
        assert all(not p.startswith("credentialSubject.hasClaim") for p in err.paths)
    else:
        assert all(not p.startswith("credentialSubject.achievement") for p in err.paths)
    assert err.paths[0] in err.message and err.hint in err.message
    assert err.pointer == "/" + err.paths[0].replace(".", "/")
    assert len(err.message) < 400  # one short hint, not a list of every accepted path


# --------------------------------------------------------------------------------------------- vocabularies
def test_vocabulary_is_detected_from_type_and_context():
    assert detect_vocabulary(load(EC_ANNEX1)) == "elm"
    assert detect_vocabulary({"@context": ["http://data.europa.eu/snb/model/context/edc-ap"]}) == "elm"
    assert detect_vocabulary(example("ob3-microcredential.json")) == "ob3"
    assert detect_vocabulary({"type": ["VerifiableCredential", "AchievementCredential"]}) == "ob3"
    assert detect_vocabulary({"type": ["VerifiableCredential"], "credentialSubject": {"id": "did:x"}}) == "vc"


def test_a_plain_vc_is_told_one_open_badges_and_one_elm_path():
    doc = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "name": "Data Stewardship",
        "issuer": {"id": "did:web:uni.example.eu", "name": "Universitas Exemplaria"},
        "validFrom": "2026-06-30T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner"},
    }
    r = report(doc)
    assert r.vocabulary == "vc"
    assert r.found == {
        "learnerIdentification": "/credentialSubject/id",
        "title": "/name",
        "awardingBody": "/issuer/name",
        "dateOfIssuing": "/validFrom",
    }
    by_key = {e.element: e for e in r.errors}
    assert by_key["workload"].paths == (
        "credentialSubject.achievement.creditsAvailable",
        "credentialSubject.hasClaim.specifiedBy.creditPoint",
    )
    assert by_key["level"].message.startswith("missing EU micro-credential element 'level")
    # and either vocabulary inside a plain VC satisfies it
    doc["credentialSubject"]["hasClaim"] = {"specifiedBy": {"creditPoint": {"point": "5"}}}
    assert "workload" not in missing(doc)


def test_credreg_only_extension_fields_no_longer_count():
    """The eumc: fields credreg used to invent are not OB 3.0: the real 1EdTech terms (or ELM terms) are needed."""
    doc = example("ob3-microcredential.json")
    ach = doc["credentialSubject"]["achievement"]
    del ach["resultDescription"], doc["credentialSubject"]["result"], ach["mode"], ach["endorsement"]
    ach["alignment"] = ach["alignment"][:2]
    ach.update(
        assessmentType="Graded project",
        participationForm="online",
        qualityAssurance="internal QA",
        eqfLevel=7,  # eumc:eqfLevel was a number; the ELM term holds the EQF concept
        mode="online",  # the ELM term holds a concept of the EDC modes list, not free text
        learningOutcomes=["x"],
    )
    assert missing(doc) == ["level", "assessment", "participation", "qualityAssurance"]
    # the ELM terms with ELM values, declared as an extension of the achievement, do count
    ach.update(
        eqfLevel="http://data.europa.eu/snb/eqf/7",
        mode="http://data.europa.eu/snb/learning-assessment/9191af2ed9",
    )
    assert missing(doc) == ["assessment", "qualityAssurance"]


def test_elm_v2_was_derived_from_is_not_elm_v3():
    doc = example("elm-microcredential.json")
    claim = doc["credentialSubject"]["hasClaim"]
    claim["wasDerivedFrom"] = claim.pop("provenBy")  # the term credreg's old example used
    assert missing(doc) == ["assessment"]


def test_elm_specification_through_the_learning_opportunity_counts():
    doc = example("elm-microcredential.json")
    claim = doc["credentialSubject"]["hasClaim"]
    spec = claim.pop("specifiedBy")
    claim["learningOpportunity"] = {"type": "LearningOpportunity", "learningAchievementSpecification": spec}
    r = report(doc)
    assert r.passed
    assert (
        r.found["level"]
        == "/credentialSubject/hasClaim/learningOpportunity/learningAchievementSpecification/eqfLevel"
    )


def test_arrays_are_walked_and_the_pointer_names_the_item():
    doc = example("elm-microcredential.json")
    doc["credentialSubject"]["hasClaim"] = [
        {"type": "LearningActivity"},
        doc["credentialSubject"]["hasClaim"],
    ]
    r = report(doc)
    assert r.passed
    assert r.found["title"] == "/credentialSubject/hasClaim/1/title"


def test_empty_values_do_not_count():
    doc = example("ob3-microcredential.json")
    ach = doc["credentialSubject"]["achievement"]
    ach["alignment"] = [
        ach["alignment"][2],
        {"type": ["Alignment"], "targetName": "  "},
    ]  # the EQF one, a blank one
    ach["endorsement"] = [{}]
    doc["issuer"]["address"] = {"addressCountry": "", "addressCountryCode": None}
    ach["name"] = {"en": " "}
    assert missing(doc) == ["title", "issuerCountry", "learningOutcomes", "qualityAssurance"]


def test_no_profile_and_unknown_profile():
    assert check_profile(None, {}) == [] and evaluate_profile(None, {}) is None
    with pytest.raises(UnknownProfile):
        check_profile("nope", {})


def test_the_profile_does_not_change_the_credential():
    doc = load(EC_ANNEX1)
    before = copy.deepcopy(doc)
    report(doc)
    assert doc == before
