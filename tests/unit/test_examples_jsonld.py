"""credreg's example credentials are real-shaped: every member is a term of the published vocabularies.

JSON-LD expansion (pyld, offline, with the bundled published contexts in tests/samples/contexts) silently drops a member
that no context defines (VC 1.1 has no @vocab) or maps it into the VC 2.0 issuer-dependent namespace. Either means
the member is not part of ELM v3 / EDC, Open Badges 3.0 or the VC data model: an invented field. The Commission's own
Annex I sample is checked the same way, so the check is known to accept a real credential.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pyld import jsonld

from tests.helpers.samples import EC_ANNEX1, document_loader, example, load


def _members(node: Any, out: set[str]) -> set[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k != "@context":
                out.add(k)
                _members(v, out)
    elif isinstance(node, list):
        for item in node:
            _members(item, out)
    return out


def _properties(node: Any, out: set[str]) -> set[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if not k.startswith("@"):
                out.add(k)
            elif k == "@type":
                out.update(v if isinstance(v, list) else [v])
            _properties(v, out)
    elif isinstance(node, list):
        for item in node:
            _properties(item, out)
    return out


def not_in_vocabularies(doc: dict) -> tuple[set[str], set[str]]:
    """(members expansion dropped, IRIs outside the published vocabularies)."""
    options = {"documentLoader": document_loader}
    expanded = jsonld.expand(copy.deepcopy(doc), options)
    compacted = jsonld.compact(expanded, doc["@context"], options)
    dropped = _members(doc, set()) - _members(compacted, set())
    foreign = {iri for iri in _properties(expanded, set()) if "issuer-dependent" in iri or "credreg" in iri}
    return dropped, foreign


@pytest.mark.parametrize(
    "name", ["elm-microcredential.json", "ob3-microcredential.json", "ob3-microcredential-incomplete.json"]
)
def test_every_member_of_the_examples_is_a_published_term(name):
    assert not_in_vocabularies(example(name)) == (set(), set())


def test_the_check_accepts_the_commissions_sample_and_catches_invented_members():
    assert not_in_vocabularies(load(EC_ANNEX1)) == (set(), set())
    elm = example("elm-microcredential.json")
    claim = elm["credentialSubject"]["hasClaim"]
    claim["wasDerivedFrom"] = claim.pop("provenBy")  # ELM v2's term, not in the ELM v3 context
    assert "wasDerivedFrom" in not_in_vocabularies(elm)[0]  # (with what only it held)
    ob3 = example("ob3-microcredential.json")
    ob3["credentialSubject"]["achievement"]["participationForm"] = "online"  # an invented OB 3.0 member
    dropped, foreign = not_in_vocabularies(ob3)
    # dropped: inside the Achievement its scoped context declares no @vocab
    assert "participationForm" in dropped | {iri.rsplit("#", 1)[-1] for iri in foreign}
