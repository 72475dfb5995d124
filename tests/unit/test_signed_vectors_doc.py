"""docs/test-vectors-signed.json (docs/scheme.md section 8) is recomputed from its fixed inputs, and its signed
credentials verify: the published signed-credential vectors cannot drift from the code."""

from __future__ import annotations

import json

from anchoring.scheme.digest import DigestRule, digest_of
from anchoring.scheme.encoding import from_hex
from anchoring.scheme.merkle import verify_proof
from anchoring.signing import DidResolver, verify_proofs, verify_vc_jwt
from tests.helpers.paths import REPO
from tests.helpers.signed_vectors import build, dumps

PATH = REPO / "docs" / "test-vectors-signed.json"


def test_signed_vectors_file_is_what_the_code_computes() -> None:
    assert PATH.read_text("utf-8") == dumps(build())


def test_signed_vectors_verify_and_fold_to_the_root() -> None:
    vectors = json.loads(PATH.read_text("utf-8"))
    root = from_hex(vectors["root"])
    resolver = DidResolver(fetch=None)
    for item in vectors["signed"]:
        held = item.get("vcJwt") or item["signedCredential"]
        rule = DigestRule(item["digestRule"])
        assert digest_of(rule, held) == from_hex(item["digest"])
        assert verify_proof(root, from_hex(item["digest"]), [from_hex(p) for p in item["proof"]])
        if isinstance(held, str):
            assert verify_vc_jwt(held, resolver).valid
        else:
            assert [r.valid for r in verify_proofs(held, resolver)] == [True]
    unsigned = vectors["unsigned"]
    digest = digest_of(DigestRule.SALTED_JCS, vectors["credential"], from_hex(unsigned["salt"]))
    assert digest == from_hex(unsigned["digest"])
    assert verify_proof(root, digest, [from_hex(p) for p in unsigned["proof"]])
