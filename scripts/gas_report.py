"""Gas used by every operation of the version-2 contracts, measured on a fresh local Anvil.

    python scripts/gas_report.py            # table
    python scripts/gas_report.py --json     # machine-readable

The anchor cost must stay under 55,000 gas whatever the batch size; the script exits 1 when it does not.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # measure the checkout this script is in

from anchoring.chain.contracts import CredentialAnchor, IssuerKind, IssuerRegistry, deploy_contracts
from anchoring.chain.transactions import TransactionSender
from anchoring.scheme.keccak import keccak256
from anchoring.scheme.merkle import MerkleTree
from node.dev.chains import start_local_chain

ANCHOR_GAS_BOUND = 55_000


def measure() -> list[tuple[str, int, str]]:
    rows: list[tuple[str, int, str]] = []
    chain = start_local_chain("anvil")
    try:
        w3 = chain.web3()
        root_tao, tao, ti, extra = chain.accounts[:4]
        root_sender, tao_sender, ti_sender = (TransactionSender(w3, a) for a in (root_tao, tao, ti))

        # deployment, measured one transaction at a time
        start = w3.eth.block_number
        deployment = deploy_contracts(root_sender, "did:example:root", keccak256(b"charter"))
        receipts = [
            w3.eth.get_transaction_receipt(tx)
            for n in range(start + 1, w3.eth.block_number + 1)
            for tx in w3.eth.get_block(n)["transactions"]
        ]
        rows.append(("deploy IssuerRegistry", receipts[0]["gasUsed"], "once per network"))
        rows.append(("deploy CredentialAnchor", receipts[1]["gasUsed"], "once per anchor contract version"))

        registry = IssuerRegistry(w3, deployment.issuer_registry)
        anchor = CredentialAnchor(w3, deployment.credential_anchor)
        scope = '{"credentialTypes":["MicroCredential"],"eqfLevels":[5,6,7]}'
        gas = root_sender.transact(
            registry.accredit(tao.address, IssuerKind.TAO, "did:example:tao", keccak256(b"tao"), "*")
        ).gas_used
        rows.append(("accredit TAO", gas, "by a RootTAO; DID and scope stored on chain"))
        gas = tao_sender.transact(
            registry.accredit(ti.address, IssuerKind.TI, "did:example:university", keccak256(b"ti"), scope)
        ).gas_used
        rows.append(("accredit TI", gas, f"by its TAO; scope of {len(scope)} bytes"))
        tao_sender.transact(registry.accredit(extra.address, IssuerKind.TI, "did:example:x", b"\0" * 32, ""))
        for action, reason in (("suspend", "accreditation under review"), ("reinstate", "review closed")):
            gas = tao_sender.transact(getattr(registry, action)(extra.address, reason)).gas_used
            rows.append((f"{action} TI", gas, f"by its TAO; a {len(reason)}-byte reason text, emitted"))
        for n, which in ((1, "first"), (2, "further")):
            key_hash = keccak256(f"z6MkExampleVerificationKey{n}".encode())  # of its publicKeyMultibase
            gas = ti_sender.transact(registry.add_verification_key(ti.address, key_hash)).gas_used
            rows.append((f"add a verification key ({which})", gas, "by the TI itself"))

        for leaves in (1, 1_000, 1_000_000):
            gas = ti_sender.transact(anchor.anchor(os.urandom(32), leaves)).gas_used
            rows.append((f"anchor a batch of {leaves:,}", gas, f"bound {ANCHOR_GAS_BOUND:,}"))

        digests = [os.urandom(32) for _ in range(1000)]
        tree = MerkleTree.build(digests)
        ti_sender.transact(anchor.anchor(tree.root, len(digests)))
        proof = tree.proof(digests[0])
        gas = anchor.contract.functions.verify(ti.address, digests[0], tree.root, proof).estimate_gas()
        rows.append(("verify view (1,000-leaf batch)", gas, "eth_call: free for verifiers"))
        gas = ti_sender.transact(anchor.revoke(tree.root, *_multi(tree, digests[:1]), 1)).gas_used
        rows.append(("revoke 1 credential", gas, "per transaction (1,000-leaf batch)"))
        for chosen in (digests[1:101], digests[101:613]):
            gas = ti_sender.transact(anchor.revoke(tree.root, *_multi(tree, chosen), 1)).gas_used
            rows.append(
                (f"revoke {len(chosen)} in one transaction", gas, f"{gas // len(chosen):,} per credential")
            )
        list_id = keccak256(b"https://node.example/status/revocation")
        for version in (1, 2):
            gas = ti_sender.transact(
                anchor.publish_status_list(list_id, keccak256(bytes([version])))
            ).gas_used
            rows.append(
                (
                    f"publish status list hash (version {version})",
                    gas,
                    "first write" if version == 1 else "update",
                )
            )
    finally:
        chain.stop()
    return rows


def _multi(tree: MerkleTree, digests):
    multi = tree.multiproof(digests)
    return multi.leaves, multi.proof, multi.proof_flags


def main(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """Measure the gas of deploy, accredit, suspend, keys, anchor, verify, revoke and publish on a fresh Anvil."""
    console, errors = Console(), Console(stderr=True)
    with errors.status("starting Anvil and measuring gas..."):
        rows = measure()
    if as_json:
        print(json.dumps([{"operation": o, "gas": g, "note": n} for o, g, n in rows], indent=2))
    else:
        table = Table(title="Gas per operation (Anvil, solc 0.8.28, optimizer 10,000 runs, EVM paris)")
        table.add_column("operation")
        table.add_column("gas", justify="right")
        table.add_column("note")
        for operation, gas, note in rows:
            table.add_row(operation, f"{gas:,}", note)
        console.print(table)
    worst = max(g for o, g, _ in rows if o.startswith("anchor "))
    if worst > ANCHOR_GAS_BOUND:
        errors.print(f"[red]anchor costs {worst:,} gas, above the bound of {ANCHOR_GAS_BOUND:,}[/red]")
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
