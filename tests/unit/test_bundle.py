"""Proof bundle format credreg-bundle/1 (anchoring.bundle)."""

from __future__ import annotations

import copy
import json
import random

import pytest

from anchoring.bundle.v1 import BUNDLE_FORMAT, Anchor, BundleFormatError, ProofBundle, bundle_schema
from anchoring.scheme.digest import hash_credential
from anchoring.scheme.encoding import is_checksum_address, to_checksum_address
from anchoring.scheme.merkle import MerkleTree, verify_proof

CREDENTIAL = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "type": ["VerifiableCredential", "MicroCredential"],
    "issuer": {"id": "did:ebsi:zexample", "name": "Example University"},
    "credentialSubject": {"name": "Ada Lovelace", "achievement": "Data Science 101", "ects": 5, "score": 9.5},
}
# Known EIP-55 vectors (from the EIP itself)
CONTRACT = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
ISSUER = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"


def make_bundle(seed: int = 1) -> ProofBundle:
    rnd = random.Random(seed)
    hashed = hash_credential(CREDENTIAL, salt=rnd.randbytes(32))
    others = [rnd.randbytes(32) for _ in range(6)]
    tree = MerkleTree.build([*others[:3], hashed.digest, *others[3:]])
    return ProofBundle(
        credential=CREDENTIAL,
        salt=hashed.salt,
        digest=hashed.digest,
        proof=tuple(tree.proof(hashed.digest)),
        root=tree.root,
        anchor=Anchor(
            chain_id=31337,
            contract=CONTRACT,
            tx_hash=rnd.randbytes(32),
            block_number=1234,
            issuer=ISSUER,
            anchored_at=1_767_225_600,
        ),
    )


@pytest.fixture
def bundle() -> ProofBundle:
    return make_bundle()


@pytest.fixture
def doc(bundle) -> dict:
    return bundle.dump()


def test_round_trip(bundle):
    text = bundle.dumps()
    assert ProofBundle.loads(text) == bundle
    assert ProofBundle.load(json.loads(text)) == bundle
    assert ProofBundle.loads(bundle.dumps(indent=None)) == bundle
    d = bundle.dump()
    assert d["format"] == BUNDLE_FORMAT == "credreg-bundle/1"
    assert set(d) == {"format", "credential", "salt", "digest", "proof", "root", "anchor"}
    assert set(d["anchor"]) == {"chainId", "contract", "txHash", "blockNumber", "issuer", "anchoredAt"}
    assert d["salt"].startswith("0x") and len(d["salt"]) == 66
    assert verify_proof(bundle.root, bundle.digest, list(bundle.proof))


def test_dump_does_not_alias_the_credential(bundle):
    d = bundle.dump()
    d["credential"]["credentialSubject"]["name"] = "Mallory"
    assert bundle.credential["credentialSubject"]["name"] == "Ada Lovelace"


def test_schema_is_package_data():
    from importlib import resources

    assert resources.files("anchoring.bundle").joinpath("schema-v1.json").is_file()
    assert bundle_schema()["properties"]["format"]["const"] == BUNDLE_FORMAT


def _set(path: str, value):
    def mutate(d: dict) -> None:
        *parents, last = path.split(".")
        target = d
        for p in parents:
            target = target[p]
        target[last] = value

    return mutate


def _delete(path: str):
    def mutate(d: dict) -> None:
        *parents, last = path.split(".")
        target = d
        for p in parents:
            target = target[p]
        del target[last]

    return mutate


def _proof_item(i: int, value):
    def mutate(d: dict) -> None:
        d["proof"][i] = value

    return mutate


H32 = "0x" + "ab" * 32
MALFORMED = [
    ("format", _set("format", "credreg-bundle/2")),
    ("format", _delete("format")),
    ("credential", _set("credential", ["not", "an", "object"])),
    ("credential", _delete("credential")),
    ("credential.credentialSubject.score", _set("credential.credentialSubject.score", 2**60)),
    ("salt", _set("salt", "0x1234")),
    ("salt", _set("salt", "ab" * 32)),  # no 0x
    ("salt", _set("salt", "0x" + "AB" * 32)),  # upper case is not the canonical form
    ("salt", _delete("salt")),
    ("digest", _set("digest", 12)),
    ("digest", _set("digest", "0x" + "zz" * 32)),
    ("proof", _set("proof", H32)),
    ("proof", _set("proof", [H32] * 65)),
    ("proof[0]", _proof_item(0, "0x00")),
    ("proof[1]", _proof_item(1, None)),
    ("root", _set("root", "0x" + "00" * 31)),
    ("root", _delete("root")),
    ("anchor", _set("anchor", None)),
    ("anchor", _delete("anchor")),
    ("anchor.chainId", _set("anchor.chainId", "31337")),
    ("anchor.chainId", _set("anchor.chainId", 0)),
    ("anchor.chainId", _set("anchor.chainId", 31337.0)),
    ("anchor.chainId", _set("anchor.chainId", True)),
    ("anchor.chainId", _delete("anchor.chainId")),
    ("anchor.contract", _set("anchor.contract", CONTRACT.lower())),  # checksum missing
    ("anchor.contract", _set("anchor.contract", CONTRACT[:-1])),
    ("anchor.txHash", _set("anchor.txHash", "0x" + "11" * 20)),
    ("anchor.txHash", _delete("anchor.txHash")),
    ("anchor.blockNumber", _set("anchor.blockNumber", -1)),
    ("anchor.blockNumber", _set("anchor.blockNumber", "1234")),
    ("anchor.issuer", _set("anchor.issuer", "0x" + ISSUER[2:].upper())),
    ("anchor.issuer", _set("anchor.issuer", "did:ebsi:zexample")),
    ("anchor.anchoredAt", _set("anchor.anchoredAt", "2026-01-01T00:00:00Z")),
    ("anchor.anchoredAt", _set("anchor.anchoredAt", 1.5)),
    ("anchor.anchoredAt", _delete("anchor.anchoredAt")),
    ("anchor.extra", _set("anchor.extra", 1)),
    ("comment", _set("comment", "unexpected top-level field")),
]


@pytest.mark.parametrize("field,mutate", MALFORMED, ids=[f"{f}-{i}" for i, (f, _) in enumerate(MALFORMED)])
def test_malformed_field_is_named(doc, field, mutate):
    bad = copy.deepcopy(doc)
    mutate(bad)
    with pytest.raises(BundleFormatError) as info:
        ProofBundle.load(bad)
    assert info.value.field == field
    assert field in str(info.value)
    # and the same through the text interface
    with pytest.raises(BundleFormatError) as info2:
        ProofBundle.loads(json.dumps(bad))
    assert info2.value.field == field


@pytest.mark.parametrize("value", [[], "x", None, 3])
def test_not_an_object(value):
    with pytest.raises(BundleFormatError) as info:
        ProofBundle.load(value)
    assert info.value.field == ""


def test_strict_json_text(bundle):
    text = bundle.dumps(indent=None)
    with pytest.raises(BundleFormatError, match="not valid JSON"):
        ProofBundle.loads(text[:-1])
    dup = text[:-1] + ', "root": "' + H32 + '"}'
    with pytest.raises(BundleFormatError) as info:
        ProofBundle.loads(dup)
    assert info.value.field == "root" and "duplicate" in str(info.value)
    nan = text.replace('"score": 9.5', '"score": NaN').replace('"score":9.5', '"score":NaN')
    assert nan != text
    with pytest.raises(BundleFormatError, match="NaN"):
        ProofBundle.loads(nan)


def test_tampering_fails_integrity(doc):
    cases = []
    d = copy.deepcopy(doc)
    d["credential"]["credentialSubject"]["score"] = 10
    cases.append((d, "digest"))
    d = copy.deepcopy(doc)
    d["salt"] = "0x" + "00" * 32
    cases.append((d, "digest"))
    d = copy.deepcopy(doc)
    d["digest"] = H32
    cases.append((d, "digest"))
    d = copy.deepcopy(doc)
    d["root"] = H32
    cases.append((d, "proof"))
    d = copy.deepcopy(doc)
    d["proof"] = d["proof"][:-1]
    cases.append((d, "proof"))
    d = copy.deepcopy(doc)
    d["proof"][0] = H32
    cases.append((d, "proof"))
    for bad, field in cases:
        with pytest.raises(BundleFormatError) as info:
            ProofBundle.load(bad)
        assert info.value.field == field
        # the verifier can still read it, to report integrity/inclusion as its own checks
        loaded = ProofBundle.load(bad, check_integrity=False)
        assert loaded.dump() == bad


def test_other_bundle_proof_does_not_fit(doc):
    other = make_bundle(seed=2).dump()
    d = copy.deepcopy(doc)
    d["proof"], d["root"] = other["proof"], other["root"]
    with pytest.raises(BundleFormatError) as info:
        ProofBundle.load(d)
    assert info.value.field == "proof"


def test_dump_refuses_invalid_values(bundle):
    bad = ProofBundle(
        credential=bundle.credential,
        salt=bundle.salt,
        digest=bundle.digest,
        proof=bundle.proof,
        root=bundle.root,
        anchor=Anchor(1, CONTRACT.lower(), bundle.anchor.tx_hash, 1, ISSUER, 1),
    )
    with pytest.raises(BundleFormatError) as info:
        bad.dump()
    assert info.value.field == "anchor.contract"


def test_eip55():
    # EIP-55 test vectors
    for addr in [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ]:
        assert to_checksum_address(addr.lower()) == addr
        assert is_checksum_address(addr)
        assert not is_checksum_address(addr.lower())
    assert not is_checksum_address("0x123")
    assert not is_checksum_address(None)


def test_published_vectors():
    """docs/test-vectors.json is recomputed from its inputs, so the published scheme cannot drift."""
    from pathlib import Path

    from anchoring.scheme.digest import credential_digest
    from anchoring.scheme.encoding import from_hex, to_hex
    from anchoring.scheme.jcs import canonicalize
    from anchoring.scheme.keccak import keccak256
    from anchoring.scheme.merkle import MultiProof, leaf_hash, verify_multiproof

    vectors = json.loads(
        (Path(__file__).resolve().parents[2] / "docs" / "test-vectors.json").read_text("utf-8")
    )
    assert vectors["keccak256"] == {"": to_hex(keccak256(b"")), "abc": to_hex(keccak256(b"abc"))}
    digests = []
    for item in vectors["credentials"]:
        canonical = canonicalize(item["credential"])
        assert canonical.decode("utf-8") == item["canonical"]
        assert to_hex(canonical) == item["canonicalHex"]
        digest = credential_digest(from_hex(item["salt"]), canonical)
        assert to_hex(digest) == item["digest"]
        assert to_hex(leaf_hash(digest)) == item["leaf"]
        digests.append(digest)
    assert len(vectors["trees"]) == 2
    for tv in vectors["trees"]:
        tree = MerkleTree.build([digests[i] for i in tv["credentials"]])
        assert to_hex(tree.root) == tv["root"]
        assert [to_hex(x) for x in tree.nodes] == tv["tree"]
        assert [[to_hex(p) for p in tree.proof_at(i)] for i in range(len(tree))] == tv["proofs"]
        m = tv["multiproof"]
        mp = tree.multiproof_at(m["of"])
        assert [to_hex(x) for x in mp.leaves] == m["leaves"]
        assert [to_hex(x) for x in mp.proof] == m["proof"]
        assert list(mp.proof_flags) == m["proofFlags"]
        published = MultiProof(
            tuple(map(from_hex, m["leaves"])), tuple(map(from_hex, m["proof"])), tuple(m["proofFlags"])
        )
        assert verify_multiproof(from_hex(tv["root"]), published)
    bundle = ProofBundle.load(vectors["bundle"])
    assert to_hex(bundle.digest) == vectors["credentials"][0]["digest"]
    assert to_hex(bundle.root) == vectors["trees"][1]["root"]
    assert bundle.dump() == vectors["bundle"]


def test_scheme_doc_matches_schema_and_vectors():
    """docs/scheme.md embeds the schema and vector values: they must be the shipped ones."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    doc = (root / "docs" / "scheme.md").read_text("utf-8")
    section = doc.split("### Bundle schema", 1)[1]
    embedded = re.search(r"```json\n(.*?)\n```", section, re.DOTALL).group(1)
    assert json.loads(embedded) == bundle_schema()
    vectors = json.loads((root / "docs" / "test-vectors.json").read_text("utf-8"))
    example = re.search(r"Example \(test vector `bundle`\):\n\n```json\n(.*?)\n```", doc, re.DOTALL).group(1)
    assert json.loads(example) == vectors["bundle"]
    c3 = vectors["credentials"][3]
    for value in (c3["canonical"], c3["salt"], c3["digest"], c3["leaf"], vectors["trees"][0]["root"]):
        assert value in doc
