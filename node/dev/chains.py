"""Local chain processes (Anvil, Ganache, Hardhat Network) started from the npm packages, with fresh random dev keys.

No secret is on the chain's command line (``ps`` shows every process's arguments to every local user): the chain
starts with its built-in accounts, then each random key is funded through the chain's own RPC (``anvil_setBalance``,
Ganache's ``evm_setAccountBalance``, Hardhat's ``hardhat_setBalance``, else a transfer from an unlocked built-in
account)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.types import Wei

from anchoring.chain.rpc import connect
from anchoring.errors import ChainUnreachable

REPO = Path(__file__).resolve().parents[2]

Account.enable_unaudited_hdwallet_features()


class DevChainError(RuntimeError):
    """The local chain could not be started, found or stopped."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_binary(kind: str) -> str:
    """The npm-installed `anvil`, `ganache` or `hardhat` of this repository, or one on PATH."""
    local = REPO / "node_modules" / ".bin" / kind
    if local.exists():
        return str(local)
    found = shutil.which(kind)
    if found is None:
        raise DevChainError(f"{kind} not found: run `npm ci` in {REPO} (it comes from the npm registry)")
    return found


@dataclass
class LocalChain:
    """A running local chain process and the funded accounts it was started with."""

    kind: str
    rpc_url: str
    port: int
    process: subprocess.Popen | None
    accounts: list[LocalAccount] = field(repr=False)
    pid: int | None = None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # lets anvil dump its state
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def web3(self) -> Web3:
        return connect(self.rpc_url)


#: what each dev key is given (Anvil's own default balance)
DEV_BALANCE_WEI = 10_000 * 10**18


def fund_dev_accounts(w3: Web3, addresses: list[str], balance_wei: int = DEV_BALANCE_WEI) -> None:
    """Give each address ``balance_wei`` on a local dev chain through its RPC: Anvil's ``anvil_setBalance``,
    Ganache's ``evm_setAccountBalance``, else a transfer from the chain's first unlocked account."""
    for method in ("anvil_setBalance", "evm_setAccountBalance", "hardhat_setBalance"):
        if not addresses:
            return
        answer = w3.provider.make_request(method, [addresses[0], hex(balance_wei)])  # type: ignore[arg-type]
        if "error" not in answer:
            for address in addresses[1:]:
                answer = w3.provider.make_request(method, [address, hex(balance_wei)])  # type: ignore[arg-type]
                if "error" in answer:
                    raise DevChainError(f"{method} refused: {answer['error']}")
            return
    funder = w3.eth.accounts[0]
    for address in addresses:
        tx = w3.eth.send_transaction({"from": funder, "to": address, "value": Wei(balance_wei)})
        w3.eth.wait_for_transaction_receipt(tx, timeout=30)


def start_local_chain(
    kind: str = "anvil",
    port: int | None = None,
    chain_id: int = 31337,
    accounts: int = 10,
    state_file: Path | None = None,
    log_file: Path | None = None,
    detach: bool = False,
    startup_timeout: float = 30.0,
) -> LocalChain:
    """Start Anvil, Ganache or Hardhat Network on a free loopback port, wait until it answers, then fund
    ``accounts`` fresh random keys through its RPC (:data:`DEV_BALANCE_WEI` each). No key or mnemonic is on the
    process's command line."""
    port = port or free_port()
    binary = find_binary(kind)
    env: dict[str, str] | None = None
    if kind == "anvil":
        args = [
            binary,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--chain-id",
            str(chain_id),
            "--accounts",
            "1",  # its built-in, publicly known test account: only the funder of the random keys below
            "--silent",
        ]
        if state_file is not None:
            args += ["--state", str(state_file), "--state-interval", "2"]
    elif kind == "ganache":
        args = [
            binary,
            "--server.host",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--chain.chainId",
            str(chain_id),
            "--chain.hardfork",
            "merge",
            "--wallet.totalAccounts",
            "1",
            "--logging.quiet",
        ]
        if state_file is not None:
            args += ["--database.dbPath", str(state_file)]
    elif kind == "hardhat":
        # Hardhat Network from the npm `hardhat` package; hardhat.config.js reads the chain id from the
        # environment. Its built-in accounts are Hardhat's published test accounts; the dev keys are random and
        # funded below. It keeps no state on disk: a stopped Hardhat node starts afresh.
        args = [binary, "node", "--hostname", "127.0.0.1", "--port", str(port)]
        env = {**os.environ, "CREDREG_HH_CHAIN_ID": str(chain_id)}
    else:
        raise DevChainError(f"unknown chain kind {kind!r}: use anvil, ganache or hardhat")
    popen: dict = {"stdin": subprocess.DEVNULL, "start_new_session": detach, "env": env, "cwd": REPO}
    if log_file is not None:
        with open(log_file, "ab") as log:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(args, stdout=log, stderr=log, **popen)
    else:
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen)
    keys = [Account.create() for _ in range(accounts)]
    chain = LocalChain(kind, f"http://127.0.0.1:{port}", port, process, keys, process.pid)
    deadline = time.monotonic() + startup_timeout
    while True:
        if process.poll() is not None:
            raise DevChainError(f"{kind} exited with code {process.returncode} while starting")
        try:
            w3 = connect(chain.rpc_url, timeout=2)
        except ChainUnreachable:
            w3 = None
        if w3 is not None:
            try:
                fund_dev_accounts(w3, [a.address for a in keys])
            except BaseException:
                chain.stop()
                raise
            return chain
        if time.monotonic() > deadline:
            chain.stop()
            raise DevChainError(f"{kind} did not answer on {chain.rpc_url} within {startup_timeout:.0f}s")
        time.sleep(0.1)
