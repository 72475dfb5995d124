"""Stackable credentials, the pure parts: reading ``stackOf`` (guards), ECTS from ELM v3 and OB 3.0, and the
``stack`` check decided from the components' reports (no chain)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from anchoring.errors import FormatError
from anchoring.verify.report import FAIL, PASS, Check, VerificationReport
from anchoring.verify.stack import MAX_COMPONENTS, ects_of, resolve_stacks, stack_check, stack_spec

A, B, C = ("0x" + c * 64 for c in "abc")


def test_not_a_stack():
    assert stack_spec({"type": ["VerifiableCredential"]}) is None
    assert stack_spec("eyJ...compact") is None


def test_spec_reads_digests_and_stated_ects():
    spec = stack_spec({"stackOf": [{"digest": A.upper().replace("0X", "0x"), "ects": 5}, {"digest": B}]})
    assert spec is not None
    assert [c.digest for c in spec.components] == [A, B]  # lower-cased
    assert [c.ects for c in spec.components] == [Decimal(5), None]


@pytest.mark.parametrize(
    ("stack_of", "field", "words"),
    [
        ([], "stackOf", "non-empty"),
        ("0xabc", "stackOf", "non-empty"),
        ([{"digest": A}, {"digest": A}], "stackOf[1].digest", "named twice"),
        ([{"digest": "0x1234"}], "stackOf[0].digest", "64 hex"),
        ([A], "stackOf[0]", "an object"),
        ([{"digest": A, "ects": -1}], "stackOf[0].ects", "non-negative"),
        ([{"digest": A, "ects": True}], "stackOf[0].ects", "non-negative"),
        ([{"digest": A, "ects": "5"}], "stackOf[0].ects", "non-negative"),
        ([{"digest": A, "extra": 1}], "stackOf[0]", "an object"),
        ([{"digest": f"0x{i:064x}"} for i in range(MAX_COMPONENTS + 1)], "stackOf", "at most 50"),
    ],
)
def test_malformed_stack_names_the_field(stack_of, field, words):
    with pytest.raises(FormatError, match=words) as info:
        stack_spec({"stackOf": stack_of})
    assert info.value.field == field


def test_fifty_components_are_allowed():
    spec = stack_spec({"stackOf": [{"digest": f"0x{i:064x}"} for i in range(MAX_COMPONENTS)]})
    assert spec is not None and len(spec.components) == MAX_COMPONENTS


def test_ects_from_elm_and_ob3():
    elm = {
        "credentialSubject": {
            "hasClaim": [
                {
                    "specifiedBy": {
                        "creditPoint": [{"framework": {"prefLabel": {"en": "ECTS"}}, "point": "2.5"}]
                    }
                }
            ]
        }
    }
    assert ects_of(elm) == Decimal("2.5")
    other = {
        "credentialSubject": {
            "hasClaim": {"specifiedBy": {"creditPoint": {"framework": "UK CATS", "point": 10}}}
        }
    }
    assert ects_of(other) is None
    ob3 = {"credentialSubject": {"achievement": {"creditsAvailable": 5}}}
    assert ects_of(ob3) == Decimal(5)
    assert ects_of({"credentialSubject": {"creditsEarned": 3.0}}) == Decimal(3)
    assert ects_of({"credentialSubject": {"achievement": {"creditsAvailable": "lots"}}}) is None
    assert ects_of("a.jwt.string") is None


def report(
    digest: str, verdict_status: str = PASS, ects: int | None = None, stack=None
) -> VerificationReport:
    checks = [Check("anchored", PASS, "ok"), Check("not_revoked", verdict_status, "revoked (reason 4)")]
    checks.append(Check("stack", PASS, "not a stack credential", {"applicable": False}))
    held = {"credentialSubject": {"creditsEarned": ects}} if ects is not None else {}
    return VerificationReport(checks, {"digest": digest}, stack=stack, credential_json=held)


def test_stack_check_passes_with_total_and_fails_naming_components():
    spec = stack_spec({"stackOf": [{"digest": A, "ects": 5}, {"digest": B}]})
    assert spec is not None
    given = {A: report(A, ects=5), B: report(B, ects=3)}
    ok = stack_check(spec, C, None, given)
    assert ok.status == PASS and ok.details["ects_total"] == 8, ok
    assert "8 ECTS" in ok.reason

    revoked = stack_check(spec, C, None, {A: report(A, ects=5), B: report(B, FAIL, ects=3)})
    assert revoked.status == FAIL and B in revoked.reason and "not_revoked: revoked" in revoked.reason
    assert A not in revoked.reason

    missing = stack_check(spec, C, None, {A: report(A, ects=5)})
    assert missing.status == FAIL and missing.details["missing"] == [B] and "missing" in missing.reason

    wrong_ects = stack_check(spec, C, None, {A: report(A, ects=6), B: report(B, ects=3)})
    assert wrong_ects.status == FAIL and "counts 5 ECTS, the component states 6" in wrong_ects.reason

    stated = stack_check(spec, C, Decimal(10), given)
    assert stated.status == FAIL and "states 10 ECTS, its components add up to 8" in stated.reason

    unanchored = report(B, ects=3)
    unanchored.anchor_found = False
    plain = stack_check(spec, C, None, {A: report(A, ects=5), B: unanchored})
    assert plain.status == FAIL and f"component {B} is not anchored" in plain.reason

    itself = stack_check(spec, A, None, given)
    assert itself.status == FAIL and "is the stack itself" in itself.reason


def test_resolve_nested_stacks_in_one_run():
    inner_spec = stack_spec({"stackOf": [{"digest": A}]})
    outer_spec = stack_spec({"stackOf": [{"digest": B}, {"digest": C}]})
    outer = report("0x" + "d" * 64, stack=outer_spec)
    inner = report(B, stack=inner_spec)
    leaf_c = report(C, ects=2)
    # A (inner's only component) is revoked: inner fails, so outer fails naming B
    leaf_a = report(A, FAIL, ects=4)
    resolve_stacks([outer, inner, leaf_c, leaf_a])
    assert inner["stack"].status == FAIL and A in inner["stack"].reason
    assert outer["stack"].status == FAIL and B in outer["stack"].reason and C not in outer["stack"].reason
    assert outer.verdict == "invalid"

    fine = [report("0x" + "d" * 64, stack=outer_spec), report(B, stack=inner_spec), report(C, ects=2)]
    fine.append(report(A, ects=4))
    resolve_stacks(fine)
    assert fine[1]["stack"].details["ects_total"] == 4
    assert fine[0]["stack"].status == PASS, fine[0]["stack"]
    assert fine[0]["stack"].details["ects_total"] == 6  # the inner stack states none: its components' 4
