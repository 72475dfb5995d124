"""`credreg chain up | down | status | fund` (a local development chain: Anvil, Ganache or Hardhat Network from npm)
and `credreg chain deploy` (both contracts to any EVM chain)."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console

from anchoring.chain.contracts import ZERO_HASH, deploy_contracts
from anchoring.chain.deployment import Deployment, DeploymentFileError
from anchoring.chain.rpc import connect
from anchoring.chain.transactions import FeePolicy, TransactionSender
from anchoring.errors import ChainError, ContractRevert
from node.auth.keys import KeystoreError, read_keystore, read_password
from node.dev.chains import DevChainError
from node.dev.devchain import DevChainFiles, chain_down, chain_status, chain_up
from node.dev.funding import DEFAULT_FUNDING_WEI
from node.dev.funding import fund as fund_address

app = typer.Typer(
    help="Run a local development chain (Anvil, Ganache, Hardhat) or deploy the contracts to any EVM chain.",
    no_args_is_help=True,
)
console = Console()

DataDir = typer.Option(
    Path("data"),
    "--data-dir",
    envvar="CREDREG_DATA_DIR",
    help="Folder holding the chain state, deployment file and dev keystores.",
)


@app.command()
def up(
    data_dir: Path = DataDir,
    port: int = typer.Option(None, help="Port for the chain (default: 8545 when free, else any free port)."),
    kind: str = typer.Option(
        "anvil",
        "--kind",
        help="anvil | ganache | hardhat (all from npm). Anvil and Ganache keep their state in the data folder; "
        "Hardhat Network keeps none and deploys afresh each time.",
    ),
) -> None:
    """Start a dev chain, deploy the contracts and accredit a dev RootTAO -> TAO -> TI.

    Example: credreg chain up --data-dir data --kind ganache
    """
    try:
        with console.status(f"starting {kind}, deploying contracts, accrediting dev issuers..."):
            running = chain_up(data_dir, port, kind)
    except (DevChainError, ChainError) as exc:
        console.print(f"[red]chain up failed:[/red] {exc}")
        raise typer.Exit(1) from None
    files = DevChainFiles(data_dir)
    console.print(
        f"{running.kind} chain {running.how}: {running.rpc_url} (pid {running.pid}, "
        f"chain id {running.deployment.chain_id})"
    )
    console.print(f"IssuerRegistry   {running.deployment.issuer_registry}")
    console.print(f"CredentialAnchor {running.deployment.credential_anchor}")
    console.print(f"deployment file  {files.deployment_file}")
    console.print(f"dev keystores    {files.keys_dir} (password in {files.password_file})")


@app.command()
def down(data_dir: Path = DataDir) -> None:
    """Stop the chain that `chain up` started for this data folder (and nothing else).

    Example: credreg chain down --data-dir data
    """
    if chain_down(data_dir):
        console.print("chain stopped; its state stays in the data folder for the next `chain up`")
    else:
        console.print("no chain of this data folder is running")


@app.command()
def status(data_dir: Path = DataDir) -> None:
    """Show whether the dev chain of this data folder is running.

    Example: credreg chain status
    """
    info = chain_status(data_dir)
    if info is None:
        console.print("not running")
        raise typer.Exit(1)
    console.print(f"running: {info.get('kind', 'anvil')} on {info['rpc_url']} (pid {info['pid']})")


def _dev_rpc(data_dir: Path, rpc: str | None) -> str:
    if rpc:
        return rpc
    info = chain_status(data_dir)
    if info is None:
        raise DevChainError(
            f"no dev chain of {data_dir} is running: start one (credreg chain up) or pass --rpc"
        )
    return str(info["rpc_url"])


@app.command()
def fund(
    address: str = typer.Argument(..., help="The address to fund."),
    ether: float = typer.Option(100.0, "--ether", min=0.000001, help="How much to add, in ether."),
    rpc: str | None = typer.Option(
        None, "--rpc", help="The dev chain's JSON-RPC endpoint (default: the running chain of --data-dir)."
    ),
    data_dir: Path = DataDir,
) -> None:
    """Give ADDRESS ether on a dev chain (Anvil, Ganache, Hardhat), e.g. a new issuer or accreditor key.

    Refused, in one line, by any chain that is not a dev chain.

    Example: credreg chain fund 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --ether 10
    """
    from web3 import Web3

    if not Web3.is_address(address):
        console.print(f"[red]error:[/red] not an Ethereum address: {address!r}")
        raise typer.Exit(1)
    try:
        url = _dev_rpc(data_dir, rpc)
        balance = fund_address(connect(url), address, int(ether * 10**18) or DEFAULT_FUNDING_WEI)
    except (DevChainError, ChainError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"{Web3.to_checksum_address(address)} now has {balance / 10**18:g} ETH")


def _gwei(value: float | None, name: str) -> int | None:
    if value is None:
        return None
    if value < 0:
        raise ValueError(f"{name}: a fee cannot be negative")
    return round(value * 10**9)


@app.command()
def deploy(
    rpc: str = typer.Option(..., "--rpc", envvar="CREDREG_RPC_URL", help="JSON-RPC endpoint of the chain."),
    keystore: Path = typer.Option(
        ...,
        "--keystore",
        help="Encrypted keystore of the founding RootTAO: it deploys and is the first RootTAO.",
    ),
    password_file: Path | None = typer.Option(
        None,
        "--password-file",
        help="File holding the keystore password; wins over $CREDREG_KEYSTORE_PASSWORD when both are set.",
    ),
    out: Path = typer.Option(..., "--out", help="Deployment file to write (chain id, addresses, block)."),
    root_did: str = typer.Option(
        ..., "--root-did", help="DID of the founding RootTAO, e.g. did:web:alliance.eu"
    ),
    root_document: Path | None = typer.Option(
        None,
        "--root-document",
        help="The RootTAO's founding document (JSON); keccak256 of its JCS form goes on chain.",
    ),
    confirmations: int = typer.Option(
        1, "--confirmations", min=1, help="Blocks to wait for each deployment."
    ),
    timeout: float = typer.Option(300.0, "--timeout", min=1, help="Seconds to wait for each deployment."),
    legacy: bool = typer.Option(False, "--legacy", help="Send legacy (type 0) transactions, no EIP-1559."),
    gas_price: float | None = typer.Option(
        None, "--gas-price", help="Legacy gas price in gwei (0 on a Besu network with min-gas-price 0)."
    ),
    max_fee: float | None = typer.Option(None, "--max-fee", help="EIP-1559 max fee per gas, in gwei."),
    priority_fee: float | None = typer.Option(None, "--priority-fee", help="EIP-1559 priority fee, in gwei."),
    previous: Path | None = typer.Option(
        None,
        "--previous",
        help="An older deployment file on the same chain: its contracts stay readable (listed as previous).",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing --out file."),
) -> None:
    """Deploy IssuerRegistry and CredentialAnchor to any EVM chain credreg did not start (a Besu network, a
    public testnet, a Ganache or Hardhat node of your own), and write the deployment file nodes read.

    The keystore's address becomes the founding RootTAO. Fees: EIP-1559 where the chain has a base fee (or
    --max-fee / --priority-fee), else legacy; --legacy with --gas-price forces a legacy price.

    Example: credreg chain deploy --rpc http://127.0.0.1:8545 --keystore keys/root-tao.json --root-did did:web:alliance.example --out deployment.json --confirmations 2
    """
    try:
        if out.exists() and not force:
            raise ValueError(f"{out} exists; pass --force to overwrite it")
        if gas_price is not None and (max_fee is not None or priority_fee is not None):
            raise ValueError(
                "--gas-price is for legacy transactions; do not combine it with --max-fee/--priority-fee"
            )
        policy = FeePolicy(
            legacy=legacy or gas_price is not None,
            gas_price=_gwei(gas_price, "--gas-price"),
            max_fee=_gwei(max_fee, "--max-fee"),
            priority_fee=_gwei(priority_fee, "--priority-fee"),
        )
        older = Deployment.load(previous) if previous is not None else None
        doc_hash = ZERO_HASH
        if root_document is not None:
            from node.registry.accreditation import document_hash, load_document

            doc_hash = document_hash(load_document(root_document.read_text(encoding="utf-8")))
        account = read_keystore(
            keystore, read_password(os.environ.get("CREDREG_KEYSTORE_PASSWORD"), password_file)
        )
        w3 = connect(rpc)
        sender = TransactionSender(w3, account, fee_policy=policy)
        console.print(
            f"deploying from {account.address} to chain {sender.chain_id} ({confirmations} confirmations)"
        )
        with console.status("deploying IssuerRegistry and CredentialAnchor..."):
            deployment = deploy_contracts(
                sender, root_did, doc_hash, confirmations=confirmations, timeout=timeout
            )
        if older is not None:
            deployment = deployment.with_previous(older)
        deployment.save(out)
    except ContractRevert as exc:
        console.print(f"[red]error:[/red] deployment reverted: {exc}")
        raise typer.Exit(1) from None
    except (ChainError, KeystoreError, DeploymentFileError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    except (ValueError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"IssuerRegistry   {deployment.issuer_registry} (block {deployment.deployment_block})")
    console.print(f"CredentialAnchor {deployment.credential_anchor}")
    console.print(f"RootTAO          {account.address} ({root_did})")
    console.print(f"deployment file  {out}")
