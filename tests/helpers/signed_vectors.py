"""The signed-credential test vectors of docs/scheme.md (docs/test-vectors-signed.json), built from fixed inputs:
the vc-di-eddsa test key (public: its secret is published with the W3C vectors), one Open Badges 3.0
credential, fixed dates. Ed25519 is deterministic, so every byte is reproducible. Regenerate with

    python -m tests.helpers.signed_vectors > docs/test-vectors-signed.json

tests/unit/test_signed_vectors_doc.py recomputes the file and compares, so the page cannot drift from the code.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from anchoring.scheme.digest import DigestRule, digest_of
from anchoring.scheme.encoding import to_hex
from anchoring.scheme.jcs import canonicalize
from anchoring.scheme.merkle import MerkleTree, leaf_hash
from anchoring.signing import LocalSigner, add_proof, sign_vc_jwt
from tests.helpers.vectors import OB_CONTEXT

SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"  # vc-di-eddsa TestVectors/keyPair.json
CREATED = "2026-01-01T00:00:00Z"
ISSUED_AT = 1767225600  # 2026-01-01T00:00:00Z
SALT = bytes.fromhex("11" * 32)


def credential() -> dict[str, Any]:
    signer = LocalSigner.from_secret_multibase(SECRET)
    did = signer.verification_method.split("#")[0]
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", OB_CONTEXT],
        "id": "urn:uuid:91e9a3c2-7d1f-4a8e-bc11-2a3d4e5f6071",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": did, "type": ["Profile"], "name": "Example University"},
        "validFrom": "2026-01-01T00:00:00Z",
        "name": "Data Science 101",
        "credentialSubject": {
            "id": "did:example:learner1",
            "type": ["AchievementSubject"],
            "achievement": {
                "id": "urn:uuid:0b8b1f3e-5d2c-4f7a-9e61-8c4d2b1a0f93",
                "type": ["Achievement"],
                "name": "Data Science 101",
                "description": "Introduction to data science, 5 ECTS.",
                "criteria": {"narrative": "Passed the final examination."},
            },
        },
    }


def build() -> dict[str, Any]:
    signer = LocalSigner.from_secret_multibase(SECRET)
    cred = credential()
    held: dict[str, Any] = {
        "eddsa-jcs-2022": add_proof(cred, signer, cryptosuite="eddsa-jcs-2022", created=CREATED),
        "eddsa-rdfc-2022": add_proof(cred, signer, cryptosuite="eddsa-rdfc-2022", created=CREATED),
        "vc-jwt-eddsa": sign_vc_jwt(cred, signer, issued_at=ISSUED_AT),
    }
    entries = []
    for name, value in held.items():
        rule = DigestRule.COMPACT if isinstance(value, str) else DigestRule.JCS
        entries.append((name, value, rule, digest_of(rule, value)))
    unsigned_digest = digest_of(DigestRule.SALTED_JCS, cred, SALT)
    digests = [d for *_, d in entries] + [unsigned_digest]
    tree = MerkleTree.build(digests)
    out: dict[str, Any] = {
        "description": "credreg signed-credential vectors; see docs/scheme.md section 8. Recomputed by "
        "tests/unit/test_signed_vectors_doc.py.",
        "key": {
            "type": "Ed25519",
            "secretKeyMultibase": SECRET,
            "publicKeyMultibase": signer.public_key_multibase,
            "verificationMethod": signer.verification_method,
            "publicJwk": signer.public_jwk,
            "keyHash": to_hex(signer.public_key.key_hash),
            "keyHashRule": "keccak256(UTF-8 bytes of publicKeyMultibase)",
        },
        "credential": cred,
        "signed": [],
        "unsigned": {
            "digestRule": "salted-jcs",
            "salt": to_hex(SALT),
            "digest": to_hex(unsigned_digest),
            "leaf": to_hex(leaf_hash(unsigned_digest)),
            "proof": [to_hex(p) for p in tree.proof(unsigned_digest)],
        },
        "root": to_hex(tree.root),
    }
    for name, value, rule, digest in entries:
        item: dict[str, Any] = {"mechanism": name, "digestRule": rule.value}
        if isinstance(value, str):
            item["vcJwt"] = value
        else:
            item["signedCredential"] = value
            item["proofValue"] = value["proof"]["proofValue"]
            item["jcsOfSignedCredential"] = canonicalize(value).decode("utf-8")
        item["digest"] = to_hex(digest)
        item["leaf"] = to_hex(leaf_hash(digest))
        item["proof"] = [to_hex(p) for p in tree.proof(digest)]
        out["signed"].append(item)
    return out


def dumps(vectors: dict[str, Any]) -> str:
    return json.dumps(vectors, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(dumps(build()))
