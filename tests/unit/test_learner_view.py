"""The human content of real credentials (tests/samples: the Commission's ELM v3 samples, MyNextID's EDC and OB 3.0
micro-credentials, the 1EdTech OB 3.0 spec examples; sources in tests/samples/README.md) and reasons in words."""

from __future__ import annotations

from anchoring.reasons import REASON_NAMES, REASON_TEXTS, reason_words
from node.learners.human import human_view
from node.revocation.reasons import REASONS
from tests.helpers.samples import (
    EC_ANNEX1,
    EC_ANNEX1_SEALED,
    MYNEXTID_EDC,
    MYNEXTID_OB3,
    OB3_SPEC_FULL,
    load,
    payload_of,
)


def test_the_commissions_elm_annex1_sample():
    h = human_view(load(EC_ANNEX1))
    assert h.vocabulary == "elm"
    assert h.title == "Digital micro-credential creation"
    assert h.holder == "Ana Andromeda"
    assert h.issuer_name == "University of Zed"
    assert (h.ects, h.eqf) == ("2", "6")
    assert "develop digital content" in h.outcomes
    assert h.assessment == "Digital artefact assessment, grade: Pass"
    assert h.issued == "2022-12-31T23:00:00Z"


def test_the_sealed_elm_sample_reads_the_same_from_its_payload():
    assert human_view(load(EC_ANNEX1_SEALED)) == human_view(payload_of(load(EC_ANNEX1_SEALED)))
    h = human_view(load(EC_ANNEX1_SEALED))  # the node stores the envelope as sent
    assert (h.title, h.holder, h.ects, h.eqf) == (
        "Digital micro-credential creation",
        "Ana Andromeda",
        "2",
        "6",
    )


def test_an_edc_micro_credential():
    h = human_view(load(MYNEXTID_EDC))
    assert (h.holder, h.issuer_name, h.ects, h.eqf) == ("Joe Doe", "NETIS d.o.o.", "5", "6")
    assert "Manage frustration" in h.outcomes and h.assessment == "Written Exam, grade: 19"


def test_open_badges_3():
    h = human_view(load(MYNEXTID_OB3))
    assert h.vocabulary == "ob3"
    assert (h.title, h.issuer_name, h.ects) == ("Data Science Fundamentals", "NETIS d.o.o.", "5")
    assert h.outcomes == ("Develop test procedures", "Analyse test data")
    assert h.valid_until == "2026-12-31T23:59:59Z"
    full = human_view(load(OB3_SPEC_FULL))
    assert (full.title, full.issuer_name, full.ects) == (
        "1EdTech University Degree",
        "1EdTech University",
        "36",
    )
    assert full.assessment == "Final Project Grade, result: A"


def test_an_eqf_alignment_in_open_badges_and_a_plain_vc():
    cred = load(MYNEXTID_OB3)
    cred["credentialSubject"]["name"] = "Zoë Łukasiewicz"
    cred["credentialSubject"]["achievement"]["alignment"].append(
        {"type": ["Alignment"], "targetName": "EQF level 5", "targetUrl": "http://data.europa.eu/snb/eqf/5"}
    )
    h = human_view(cred)
    assert (h.eqf, h.holder) == ("5", "Zoë Łukasiewicz")
    assert "EQF level 5" not in h.outcomes
    plain = human_view(
        {"type": ["VerifiableCredential"], "name": "Course", "issuer": {"id": "did:x", "name": "U"}}
    )
    assert (plain.vocabulary, plain.title, plain.issuer_name, plain.ects) == ("vc", "Course", "U", None)
    assert human_view([1, 2]).title is None


def test_reasons_in_words_cover_every_reason_the_node_takes():
    assert {v: k for k, v in REASONS.items()} == REASON_NAMES
    assert set(REASON_TEXTS) == set(REASON_NAMES)
    assert reason_words(102) == "academic misconduct found after the award (academicMisconduct)"
    assert reason_words(250) == "an unlisted reason (code 250)"


def test_registry_scopes_in_words():
    from node.registry.accreditation import scope_words

    scope = '{"credentialTypes":["MicroCredential"],"eqfLevels":[5,6,7],"jurisdiction":"NL"}'
    assert scope_words(scope) == "MicroCredential credentials, EQF levels 5, 6 and 7, in NL"
    assert (scope_words("*"), scope_words(""), scope_words("teacher training")) == (
        "any credential",
        "no scope stated",
        "teacher training",
    )
    assert scope_words('{"eqfLevels":[6],"sector":"health"}') == "EQF level 6, sector: health"
