"""anchoring.merkle against the real npm @openzeppelin/merkle-tree, plus tampering and property tests."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anchoring.scheme.keccak import KECCAK_EMPTY, keccak256
from anchoring.scheme.merkle import (
    MerkleTree,
    MerkleTreeError,
    MultiProof,
    leaf_hash,
    node_hash,
    process_proof,
    verify_multiproof,
    verify_proof,
)

ROOT = Path(__file__).resolve().parents[2]
HELPER = ROOT / "tests" / "helpers" / "js" / "oz_tree.mjs"
OZ_PKG = ROOT / "node_modules" / "@openzeppelin" / "merkle-tree" / "package.json"

SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000]


def _oz_available() -> str | None:
    if shutil.which("node") is None:
        return "node is not on PATH"
    if not OZ_PKG.exists():
        return f"{OZ_PKG} missing (run npm ci)"
    return None


def _need_oz() -> None:
    reason = _oz_available()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"OpenZeppelin cross-check cannot run in CI: {reason}")
    pytest.skip(f"OpenZeppelin cross-check skipped: {reason}")


def run_oz(cases: list[dict]) -> list[dict]:
    _need_oz()
    proc = subprocess.run(
        ["node", str(HELPER)],
        input=json.dumps({"cases": cases}).encode(),
        capture_output=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)["results"]


def h(b: bytes) -> str:
    return "0x" + b.hex()


def hb(s: str) -> bytes:
    return bytes.fromhex(s[2:])


def digests_for(n: int, seed: int) -> list[bytes]:
    rnd = random.Random(seed)
    return [rnd.randbytes(32) for _ in range(n)]


def multi_subsets(n: int, rnd: random.Random) -> list[list[int]]:
    subsets = [[], [0], list(range(n))]
    for _ in range(4):
        k = rnd.randint(1, n)
        subsets.append(rnd.sample(range(n), k))  # unsorted on purpose: OZ sorts by tree index
    return subsets


@pytest.fixture(scope="module")
def oz_cases():
    """One node process for all sizes: (digests, multi subsets, OZ results)."""
    rnd = random.Random(1234)
    sizes = SIZES + [rnd.randint(2, 300) for _ in range(6)]
    inputs = []
    for i, n in enumerate(sizes):
        ds = digests_for(n, i)
        inputs.append((ds, multi_subsets(n, rnd)))
    # duplicates (OZ allows them) and a tree whose values are all equal
    dup = digests_for(6, 99)
    dup = [*dup, dup[1], dup[4], dup[1]]
    inputs.append((dup, [[0, 2], [1, 9 - 1 - 0]]))
    same = [b"\x11" * 32] * 4
    inputs.append((same, [[0, 3], [1, 2]]))
    cases = [
        {"digests": [h(d) for d in ds], "multi": multi, "render": len(ds) <= 17, "dump": len(ds) <= 17}
        for ds, multi in inputs
    ]
    return list(zip(inputs, run_oz(cases), strict=False))


def test_oz_roots_and_every_proof_match(oz_cases):
    for (ds, _), oz in oz_cases:
        tree = MerkleTree.build(ds)
        assert h(tree.root) == oz["root"], len(ds)
        ours_by_index = [[h(p) for p in tree.proof_at(i)] for i in range(len(ds))]
        assert ours_by_index == oz["proofs"], len(ds)
        ours_by_value = [[h(p) for p in tree.proof(d)] for d in ds]
        assert ours_by_value == oz["proofsByValue"], len(ds)
        assert [[h(p) for p in pr] for pr in tree.all_proofs()] == oz["proofs"], len(ds)


def test_oz_multiproofs_match(oz_cases):
    checked = 0
    for (ds, multis), oz in oz_cases:
        tree = MerkleTree.build(ds)
        for idx, ozm in zip(multis, oz["multi"], strict=False):
            mp = tree.multiproof_at(idx)
            assert [h(x) for x in mp.leaves] == ozm["leaves"]
            assert [h(x) for x in mp.proof] == ozm["proof"]
            assert list(mp.proof_flags) == ozm["proofFlags"]
            assert verify_multiproof(tree.root, mp)
            if len({ds[i] for i in idx}) == len(idx):  # by value needs distinct values
                assert tree.multiproof([ds[i] for i in idx]) == mp
            checked += 1
    assert checked > 50


def test_oz_render_and_dump_match(oz_cases):
    rendered = 0
    for (ds, _), oz in oz_cases:
        if "render" not in oz:
            continue
        tree = MerkleTree.build(ds)
        assert tree.render() == oz["render"]
        assert tree.to_oz_dump() == oz["dump"]
        again = MerkleTree.from_oz_dump(oz["dump"])
        assert again.root == tree.root and again.all_proofs() == tree.all_proofs()
        rendered += 1
    assert rendered >= 10


def test_oz_loads_our_dump():
    ds = digests_for(37, 7)
    tree = MerkleTree.build(ds)
    [oz] = run_oz([{"digests": [h(d) for d in ds], "load": tree.to_oz_dump()}])
    assert oz["loadedRoot"] == h(tree.root)
    assert oz["loadedProofs"] == [[h(p) for p in tree.proof(d)] for d in ds]


def test_known_vector_small_tree():
    # Independently computed with the npm package (see tests/helpers/js/oz_tree.mjs), values 1, 2, 3 as bytes32.
    tree = MerkleTree.build([i.to_bytes(32, "big") for i in (1, 2, 3)])
    assert tree.root.hex() == "6115218373392d12cc18a3d50ad2a53a2c99b391060070dfc0ebbbbe158ec944"
    assert [p.hex() for p in tree.proof_at(0)] == [
        "673620737675e2755ce8269a99904022d15da8d5843f5aec205cd243ff80240a"
    ]


def test_keccak_is_not_sha3():
    import hashlib

    assert keccak256(b"") == KECCAK_EMPTY
    assert keccak256(b"") != hashlib.sha3_256(b"").digest()


def test_leaf_and_node_definitions():
    d = bytes(range(32))
    assert leaf_hash(d) == keccak256(keccak256(d))
    a, b = keccak256(b"a"), keccak256(b"b")
    assert node_hash(a, b) == node_hash(b, a) == keccak256(min(a, b) + max(a, b))


def test_single_leaf_tree():
    d = b"\x42" * 32
    tree = MerkleTree.build([d])
    assert tree.root == leaf_hash(d)
    assert tree.proof(d) == []
    assert verify_proof(tree.root, d, [])
    assert not verify_proof(tree.root, b"\x43" * 32, [])


@pytest.mark.parametrize("n", [2, 3, 5, 8, 13, 64, 257])
def test_every_proof_verifies_and_never_for_another_leaf(n):
    ds = digests_for(n, n)
    tree = MerkleTree.build(ds)
    proofs = tree.all_proofs()
    for i, d in enumerate(ds):
        assert verify_proof(tree.root, d, proofs[i])
        other = ds[(i + 1) % n]
        assert not verify_proof(tree.root, other, proofs[i])


def test_tampering_fails():
    ds = digests_for(50, 5)
    tree = MerkleTree.build(ds)
    d = ds[17]
    proof = tree.proof(d)
    assert verify_proof(tree.root, d, proof)
    for pos in (0, 15, 31):
        bad = bytearray(d)
        bad[pos] ^= 1
        assert not verify_proof(tree.root, bytes(bad), proof)
        bad_root = bytearray(tree.root)
        bad_root[pos] ^= 0x80
        assert not verify_proof(bytes(bad_root), d, proof)
        for k in range(len(proof)):
            bp = list(proof)
            x = bytearray(bp[k])
            x[pos] ^= 1
            bp[k] = bytes(x)
            assert not verify_proof(tree.root, d, bp)
    assert not verify_proof(tree.root, d, proof[:-1])
    assert not verify_proof(tree.root, d, [*proof, proof[-1]])
    assert not verify_proof(tree.root, d, list(reversed(proof)))


def test_inner_node_presented_as_leaf_does_not_verify():
    ds = digests_for(16, 3)
    tree = MerkleTree.build(ds)
    nodes = tree.nodes
    # every inner node with its (genuine) upper proof: as a *leaf hash* it folds to the root ...
    for i in range(1, len(ds) - 1):
        path = []
        j = i
        while j > 0:
            path.append(nodes[j - 1] if j % 2 == 0 else nodes[j + 1])
            j = (j - 1) // 2
        assert process_proof(nodes[i], path) == tree.root
        # ... but presented as a *value* it is double-hashed first, so it cannot pass
        assert not verify_proof(tree.root, nodes[i], path)
    # the 64-byte preimage of an inner node is not a 32-byte value at all
    with pytest.raises(MerkleTreeError):
        verify_proof(tree.root, nodes[1] + nodes[2], [])


def test_wrong_sizes_rejected():
    with pytest.raises(MerkleTreeError):
        MerkleTree.build([])
    with pytest.raises(MerkleTreeError):
        MerkleTree.build([b"\x00" * 31])
    with pytest.raises(MerkleTreeError):
        MerkleTree.build(["0x" + "00" * 32])  # hex belongs at the edges, not here
    tree = MerkleTree.build(digests_for(4, 1))
    with pytest.raises(MerkleTreeError):
        verify_proof(tree.root, b"\x00" * 32, [b"\x00" * 33])
    with pytest.raises(MerkleTreeError):
        tree.proof(b"\x00" * 32)
    with pytest.raises(MerkleTreeError):
        tree.proof_at(4)
    with pytest.raises(MerkleTreeError):
        tree.proof_at(-1)


def test_multiproof_tampering_and_shape():
    ds = digests_for(40, 11)
    tree = MerkleTree.build(ds)
    mp = tree.multiproof([ds[3], ds[9], ds[21], ds[22]])
    assert verify_multiproof(tree.root, mp)
    assert len(mp.leaf_hashes) == 4 and mp.leaf_hashes[0] == leaf_hash(mp.leaves[0])
    swapped = MultiProof(leaves=(ds[4], *mp.leaves[1:]), proof=mp.proof, proof_flags=mp.proof_flags)
    assert not verify_multiproof(tree.root, swapped)
    flipped = MultiProof(mp.leaves, mp.proof, tuple(not f for f in mp.proof_flags))
    assert not verify_multiproof(tree.root, flipped)
    short = MultiProof(mp.leaves, mp.proof[:-1], mp.proof_flags)
    assert not verify_multiproof(tree.root, short)
    if mp.proof:
        bad = bytearray(mp.proof[0])
        bad[0] ^= 1
        assert not verify_multiproof(
            tree.root, MultiProof(mp.leaves, (bytes(bad), *mp.proof[1:]), mp.proof_flags)
        )
    with pytest.raises(MerkleTreeError):
        tree.multiproof([ds[3], ds[3]])
    empty = tree.multiproof([])
    assert empty.proof == (tree.root,) and verify_multiproof(tree.root, empty)


def test_duplicates_follow_oz_semantics():
    ds = digests_for(5, 8)
    values = [*ds, ds[2]]
    tree = MerkleTree.build(values)
    assert len(tree) == 6
    assert tree.index_of(ds[2]) == 5  # last occurrence, as OZ's hashLookup
    assert tree.proof(ds[2]) == tree.proof_at(5)
    assert tree.tree_index(2) != tree.tree_index(5)  # each copy has its own leaf
    assert verify_proof(tree.root, ds[2], tree.proof_at(2))
    assert MerkleTree.build(ds).root != tree.root


def test_bytes_round_trip_and_corruption():
    ds = digests_for(123, 4)
    tree = MerkleTree.build(ds)
    blob = tree.to_bytes()
    again = MerkleTree.from_bytes(blob, verify=True)
    assert again.root == tree.root
    assert again.all_proofs() == tree.all_proofs()
    assert again.digests == ds
    assert again.proof(ds[50]) == tree.proof(ds[50])
    with pytest.raises(MerkleTreeError):
        MerkleTree.from_bytes(blob[:-1])
    with pytest.raises(MerkleTreeError):
        MerkleTree.from_bytes(b"XXXX" + blob[4:])
    corrupt = bytearray(blob)
    corrupt[-40] ^= 1  # inside a leaf node
    with pytest.raises(MerkleTreeError):
        MerkleTree.from_bytes(bytes(corrupt), verify=True)
    lazy = MerkleTree.from_bytes(bytes(corrupt))  # structurally fine, content checked when proving
    bad_leaf_index = next(i for i in range(123) if lazy.tree_index(i) == 2 * 123 - 2 - 1)
    with pytest.raises(MerkleTreeError):
        lazy.proof_at(bad_leaf_index)


def test_input_order_does_not_change_root():
    ds = digests_for(77, 21)
    shuffled = list(ds)
    random.Random(0).shuffle(shuffled)
    assert MerkleTree.build(ds).root == MerkleTree.build(shuffled).root


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70), st.data())
def test_property_proofs_and_multiproofs(values, data):
    tree = MerkleTree.build(values)
    proofs = tree.all_proofs()
    for i, v in enumerate(values):
        assert proofs[i] == tree.proof_at(i)
        assert verify_proof(tree.root, v, proofs[i])
    outsider = data.draw(st.binary(min_size=32, max_size=32).filter(lambda b: b not in values))
    assert all(not verify_proof(tree.root, outsider, p) for p in proofs)
    idx = data.draw(st.lists(st.integers(0, len(values) - 1), unique=True))
    assert verify_multiproof(tree.root, tree.multiproof_at(idx))
    assert MerkleTree.from_bytes(tree.to_bytes(), verify=True).root == tree.root


@pytest.mark.slow
def test_large_tree_against_oz():
    ds = digests_for(6_000, 77)
    tree = MerkleTree.build(ds)
    rnd = random.Random(5)
    subset = rnd.sample(range(len(ds)), 300)
    [oz] = run_oz([{"digests": [h(d) for d in ds], "multi": [subset], "byValue": False}])
    assert oz["root"] == h(tree.root)
    assert [[h(p) for p in pr] for pr in tree.all_proofs()] == oz["proofs"]
    mp = tree.multiproof_at(subset)
    assert [h(x) for x in mp.proof] == oz["multi"][0]["proof"]
    assert list(mp.proof_flags) == oz["multi"][0]["proofFlags"]


def test_published_vectors_match_oz():
    vectors = json.loads((ROOT / "docs" / "test-vectors.json").read_text("utf-8"))
    digests = [c["digest"] for c in vectors["credentials"]]
    cases = [
        {"digests": [digests[i] for i in tv["credentials"]], "multi": [tv["multiproof"]["of"]]}
        for tv in vectors["trees"]
    ]
    for tv, oz in zip(vectors["trees"], run_oz(cases), strict=False):
        assert oz["root"] == tv["root"]
        assert oz["proofs"] == tv["proofs"]
        assert oz["multi"][0]["proof"] == tv["multiproof"]["proof"]
        assert oz["multi"][0]["leaves"] == tv["multiproof"]["leaves"]
        assert oz["multi"][0]["proofFlags"] == tv["multiproof"]["proofFlags"]


def test_both_keccak_backends_build_the_same_tree(monkeypatch):
    """The node install builds with tiny-keccak, the verifier-only install with safe-pysha3: same nodes, byte
    for byte (and tiny-keccak is the one in use where it is installed, as the node extra installs it)."""
    import anchoring.scheme.merkle_build as merkle

    pytest.importorskip("tiny_keccak")
    assert merkle._keccak_each is merkle._keccak_each_tiny
    rng = random.Random(7)
    for n in (1, 2, 3, 5, 8, 13, 64, 257, 1000):
        values = [rng.randbytes(32) for _ in range(n)] + [b"\x11" * 32] * (n % 3)  # with duplicates
        tiny = MerkleTree.build(values)
        monkeypatch.setattr(merkle, "_keccak_each", merkle._keccak_each_sha3)
        sha3 = MerkleTree.build(values)
        monkeypatch.undo()
        assert tiny.nodes == sha3.nodes, n
        assert tiny.root == process_proof(leaf_hash(values[0]), tiny.proof_at(0))


TWO_PROCESS_SIZES = [2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1000, 1025, 4097]


@pytest.mark.parametrize("n", TWO_PROCESS_SIZES)
def test_two_process_build_gives_the_same_tree(n):
    """The two-core build (half the leaves hashed and sorted, and one of the root's subtrees built, in a second
    process) against the one-process build: the same nodes and the same leaf order, duplicates included."""
    rng = random.Random(n)
    values = [rng.randbytes(32) for _ in range(n)]
    values += [b"\x22" * 32] * (n % 3) + values[: n % 4]  # equal digests within and across the two halves
    one = MerkleTree.build(values, processes=1)
    two = MerkleTree.build(values, processes=2)
    assert two.nodes == one.nodes
    assert two.to_bytes() == one.to_bytes()  # the order and position tables too
    for i in (0, len(values) // 2, len(values) - 1):
        assert two.proof_at(i) == one.proof_at(i)


def test_two_process_build_matches_openzeppelin(oz_cases):
    for (ds, _multi), oz in oz_cases:
        if len(ds) < 2:
            continue
        tree = MerkleTree.build(ds, processes=2)
        assert h(tree.root) == oz["root"]
        assert [[h(p) for p in pr] for pr in tree.all_proofs()] == oz["proofs"]


def test_two_process_build_falls_back_when_the_worker_fails(monkeypatch, caplog):
    import sys

    import anchoring.scheme.merkle_build as merkle_build

    values = digests_for(3000, 11)
    expected = MerkleTree.build(values, processes=1)
    for broken in ("import sys; sys.exit(3)", "import sys; sys.stdin.buffer.read(9); sys.stdout.write('x')"):
        monkeypatch.setattr(
            merkle_build, "worker_command", lambda broken=broken: [sys.executable, "-c", broken]
        )
        caplog.clear()
        with caplog.at_level("WARNING", logger="anchoring.scheme.merkle_build"):
            tree = MerkleTree.build(values, processes=2)
        assert tree.nodes == expected.nodes
        assert "building in one process" in caplog.text


def test_large_batches_build_on_two_processes_by_default(monkeypatch):
    import anchoring.scheme.merkle as merkle
    import anchoring.scheme.merkle_build as merkle_build

    seen = []
    real = merkle_build.build_nodes

    def spy(values, *, processes):
        seen.append(processes)
        return real(values, processes=processes)

    monkeypatch.setattr(merkle_build, "build_nodes", spy)
    monkeypatch.setattr(merkle_build, "TWO_PROCESS_MIN_LEAVES", 500)
    monkeypatch.setattr(merkle, "usable_cpus", lambda: 2)
    MerkleTree.build(digests_for(499, 1))
    MerkleTree.build(digests_for(500, 2))
    monkeypatch.setattr(merkle, "usable_cpus", lambda: 1)
    MerkleTree.build(digests_for(500, 3))
    assert seen == [1, 2, 1]
    with pytest.raises(MerkleTreeError, match="processes must be 1 or 2"):
        MerkleTree.build(digests_for(4, 4), processes=3)


_NODE_BYTES = st.lists(st.sampled_from([0, 0, 0, 1, 0x7F, 0x80, 0xFF]), min_size=32, max_size=32).map(bytes)


@settings(max_examples=60, deadline=None)
@given(st.lists(_NODE_BYTES, min_size=1, max_size=40))
def test_numpy_node_order_and_pairs_are_bytes_order(nodes):
    """The build sorts and pairs nodes as numpy ``S32`` strings: on nodes full of NUL bytes (leading, embedded,
    trailing) and sharing their first 8 bytes, its order and its inner nodes are those of Python's ``bytes``."""
    import numpy as np

    from anchoring.scheme.merkle_build import NODE, heap_tree, leaf_order

    leaves = np.frombuffer(b"".join(nodes), NODE)
    assert leaf_order(leaves).tolist() == sorted(range(len(nodes)), key=nodes.__getitem__)
    n = len(nodes)
    expected = [b""] * (n - 1) + nodes
    for i in range(n - 2, -1, -1):
        expected[i] = node_hash(expected[2 * i + 1], expected[2 * i + 2])
    assert heap_tree(b"".join(nodes)) == b"".join(expected)


def test_a_tree_reloaded_answers_from_its_blob():
    """A reloaded tree answers proofs and lookups from its stored bytes, before and after its node list exists."""
    values = digests_for(1000, 5)
    built = MerkleTree.build(values)
    loaded = MerkleTree.from_bytes(built.to_bytes())
    for i in (0, 1, 500, 999):
        assert loaded.proof_at(i) == built.proof_at(i)
        assert loaded.index_of(values[i]) == i
    assert loaded.nodes == built.nodes
    assert loaded.all_proofs() == built.all_proofs()
    assert loaded.to_bytes() == built.to_bytes()


def test_two_process_build_without_memfd_uses_a_temporary_file(monkeypatch):
    """Where ``os.memfd_create`` is missing (not Linux), the two processes share an unnamed temporary file."""
    values = digests_for(3001, 12)
    expected = MerkleTree.build(values, processes=1)
    monkeypatch.delattr(os, "memfd_create", raising=False)
    assert MerkleTree.build(values, processes=2).to_bytes() == expected.to_bytes()


def test_the_shared_build_file_reaches_no_other_child():
    """The memory file of a two-process build is closed on exec: only the worker, given it by ``pass_fds``, gets
    it, not a child another thread of the node starts meanwhile."""
    from anchoring.scheme.merkle_build import shared_file

    fd = shared_file()
    try:
        assert not os.get_inheritable(fd)
    finally:
        os.close(fd)
