"""The accreditation scope comparison (anchoring.verify.scope): types, EQF levels, ISCED-F fields."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anchoring.scheme.jcs import canonicalize
from anchoring.verify.scope import claims_of, compare

SCOPE = '{"credentialTypes":["MicroCredential"],"eqfLevels":[6,7],"iscedFields":["06","0513"]}'


def vc(types=("VerifiableCredential", "MicroCredential"), **subject):
    return {"type": list(types), "credentialSubject": {"id": "did:example:l", **subject}}


def test_claims_are_found_anywhere_in_elm_and_ob_shapes():
    credential = vc(
        achievement={"eqfLevel": "http://data.europa.eu/snb/eqf/6", "ISCEDFCode": ["0613"]},
        hasClaim=[{"specifiedBy": {"EQFLevel": {"id": "http://data.europa.eu/snb/eqf/7"}}}],
        thematicArea={"id": "http://data.europa.eu/snb/isced-f/0513"},
    )
    claims = claims_of(credential)
    assert claims.eqf_levels == [6, 7] and claims.isced_fields == ["0513", "0613"]
    assert compare(SCOPE, credential).within


@pytest.mark.parametrize(
    "credential,named",
    [
        (vc(types=("VerifiableCredential", "OpenBadgeCredential")), "type OpenBadgeCredential"),
        (vc(achievement={"eqfLevel": 8}), "EQF level 8"),
        (vc(achievement={"iscedfCode": "0714"}), "ISCED-F field 0714"),
    ],
)
def test_outside_the_scope_names_what(credential, named):
    result = compare(SCOPE, credential)
    assert not result.within and named in result.reason
    assert named.split()[-1] in " ".join(result.details["outside"])


def test_unrestricted_scopes_and_unstated_claims_pass():
    assert compare("*", vc(achievement={"eqfLevel": 8})).within
    assert compare("", vc()).within
    assert compare('{"jurisdiction":"FI"}', vc(achievement={"eqfLevel": 8})).within
    plain = compare(SCOPE, vc(types=("VerifiableCredential",)))
    assert plain.within and "states nothing" in plain.reason
    # a bool is not a level, a made-up URI is not a field
    assert (
        claims_of(vc(achievement={"eqfLevel": True, "thematicArea": "https://x.example/a"})).eqf_levels == []
    )


KEY_PARTS = [
    "eqf",
    "EQF",
    "Level",
    "level",
    "_",
    "isced",
    "ISCED",
    "F",
    "f",
    "Code",
    "field",
    "thematic",
    "Area",
]
KEY_PARTS += ["İ", "K", "é", "x", "\u0001"]  # characters whose lower case is not (or not only) ASCII


@settings(max_examples=300, deadline=None)
@given(
    keys=st.lists(st.lists(st.sampled_from(KEY_PARTS), min_size=1, max_size=5).map("".join), max_size=6),
    nested=st.booleans(),
)
def test_the_canonical_prefilter_never_hides_a_claim(keys, nested):
    """claims_of with the credential's JCS bytes (which skip the walk when no EQF / ISCED-F key can be in them)
    finds what the full walk finds, for keys spelt in every case, with underscores and look-alike letters."""
    values = ["http://data.europa.eu/snb/eqf/6", "0613", {"id": "http://data.europa.eu/snb/isced-f/0513"}]
    fields = {key: values[i % 3] for i, key in enumerate(keys)}
    credential = vc(achievement=[{"inner": fields}] if nested else fields)
    walked = claims_of(credential)
    assert claims_of(credential, canonicalize(credential)) == walked
    assert compare(SCOPE, credential, canonicalize(credential)) == compare(SCOPE, credential)
