"""Demo: a fresh local chain and node, the example micro-credentials issued through the API, their proofs
printed and checked on chain. Self-contained: starts and stops everything it uses.

    python scripts/demo.py
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # measure the checkout this script is in

from anchoring.scheme.encoding import from_hex
from node.cli.embedded import EmbeddedNode, node_settings
from node.dev.chains import start_local_chain
from node.dev.network import bootstrap_dev_network

EXAMPLES = Path(__file__).resolve().parent / "examples"
console = Console()


def main() -> None:
    chain = start_local_chain("anvil")
    try:
        with console.status("deploying contracts and accrediting a dev RootTAO -> TAO -> TI on Anvil..."):
            network = bootstrap_dev_network(chain)
        with tempfile.TemporaryDirectory() as tmp:
            node = EmbeddedNode(
                node_settings(Path(tmp), chain.rpc_url, network.deployment, network.issuer.key)
            )
            try:
                run(node, network)
            finally:
                node.stop()
    finally:
        chain.stop()


def run(node: EmbeddedNode, network) -> None:
    console.print(f"node on {node.base_url}, anchoring to {network.deployment.credential_anchor}")
    issued = {}
    for path in sorted(EXAMPLES.glob("*.json")):
        response = node.http.post(
            "/v1/credentials",
            params={"profile": "eu-microcredential"},
            content=path.read_bytes(),
            headers={"Content-Type": "application/json"},
        )
        body = response.json()
        if response.status_code == 202:
            issued[path.name] = body["digest"]
            console.print(f"[green]accepted[/green] {path.name}: {body['digest']}")
        else:
            missing = ", ".join(e["field"] for e in body.get("errors", []))
            console.print(
                f"[yellow]rejected[/yellow] {path.name} ({response.status_code}): {body['detail']} "
                f"- missing: {missing}"
            )
    with console.status("waiting for the batch to be anchored..."):
        proofs = node.wait_anchored(list(issued.values()))
    anchor = network.anchor(network.chain.web3())
    table = Table(title="Public proofs (no personal data) and the on-chain check")
    for column in ("credential", "root", "proof length", "block", "tx", "on chain"):
        table.add_column(column)
    for name, digest in issued.items():
        proof = proofs[digest]
        view = anchor.verify(from_hex(digest), from_hex(proof["root"]), [from_hex(p) for p in proof["proof"]])
        verdict = (
            "included, anchored by the dev TI"
            if view.included and view.issuer == network.issuer.address
            else "NOT VERIFIED"
        )
        table.add_row(
            name,
            proof["root"][:18] + "...",
            str(len(proof["proof"])),
            str(proof["anchor"]["blockNumber"]),
            proof["anchor"]["txHash"][:18] + "...",
            verdict,
        )
    console.print(table)
    first = next(iter(issued.values()))
    bundle = node.http.get(f"/v1/credentials/{first}/bundle").json()
    console.print("the learner's proof bundle for the first credential:")
    console.print_json(json.dumps({k: v for k, v in bundle.items() if k != "credential"}))


if __name__ == "__main__":
    main()
