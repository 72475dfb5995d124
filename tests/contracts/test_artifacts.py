"""The ABI and bytecode shipped in the `anchoring` package are exactly what contracts/ compiles to."""

from __future__ import annotations

import json

from anchoring.chain.artifacts import CONTRACT_NAMES, load_artifact
from scripts.build_artifacts import REPO, compile_contracts, render
from tests.helpers.paths import require


def test_shipped_artifacts_match_a_fresh_offline_compile(tmp_path):
    require((REPO / "node_modules" / ".bin" / "hardhat").exists(), "hardhat is not installed (run `npm ci`)")
    fresh = compile_contracts(tmp_path)
    assert set(fresh) == set(CONTRACT_NAMES)
    for name, artifact in fresh.items():
        shipped = (REPO / "anchoring" / "chain" / "artifacts" / f"{name}.json").read_text()
        assert shipped == render(artifact), f"{name}: shipped artifact is stale, run `make artifacts`"
        assert load_artifact(name)["bytecode"] == artifact["bytecode"]


def test_bytecode_targets_paris_without_push0():
    # PUSH0 (0x5f) arrived with Shanghai; Besu networks on Paris reject it. Walk the opcodes, skipping data.
    for name in CONTRACT_NAMES:
        code = bytes.fromhex(load_artifact(name)["deployedBytecode"][2:])
        i = 0
        while i < len(code):
            op = code[i]
            if op == 0xFE:  # INVALID marks the start of the metadata / data section
                break
            assert op != 0x5F, f"{name} uses PUSH0 at {i}"
            i += 1 + (op - 0x5F if 0x60 <= op <= 0x7F else 0)


def test_artifacts_are_valid_json_with_abi_and_bytecode():
    for name in CONTRACT_NAMES:
        artifact = load_artifact(name)
        assert artifact["bytecode"].startswith("0x") and len(artifact["bytecode"]) > 1000
        assert any(
            item.get("name") == ("anchor" if name == "CredentialAnchor" else "accredit")
            for item in artifact["abi"]
        )
        json.dumps(artifact)
