"""A local development chain: Anvil (or Ganache) from the npm packages, the contracts deployed and a dev
accreditation chain RootTAO -> TAO -> TI, all from keys generated for this chain alone.

Used by `credreg chain up/down`, `credreg dev` and the test suite, so that all three start a chain the
same way. Accounts come from a fresh random mnemonic for every chain; the keys the node needs afterwards
are written to encrypted keystores, never printed.
"""

from __future__ import annotations

import json
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

from anchoring.chain import connect
from anchoring.contracts import CredentialAnchor, IssuerKind, IssuerRegistry, deploy_contracts
from anchoring.deployment import Deployment
from anchoring.errors import ChainUnreachable
from anchoring.keccak import keccak256
from node.keys import new_password_file, write_keystore

REPO = Path(__file__).resolve().parent.parent
DEV_ROLES = ("root-tao", "tao", "issuer")
DEV_DIDS = {
    "root-tao": "did:example:alliance-governance",
    "tao": "did:example:quality-agency",
    "issuer": "did:example:dev-university",
}
DEV_SCOPE = '{"credentialTypes":["MicroCredential","OpenBadgeCredential"],"eqfLevels":[1,2,3,4,5,6,7,8]}'

Account.enable_unaudited_hdwallet_features()


class DevChainError(RuntimeError):
    """The local chain could not be started, found or stopped."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_binary(kind: str) -> str:
    """The npm-installed `anvil` or `ganache` of this repository, or one on PATH."""
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


def start_local_chain(kind: str = "anvil", port: int | None = None, chain_id: int = 31337,
                      accounts: int = 10, state_file: Path | None = None, log_file: Path | None = None,
                      detach: bool = False, startup_timeout: float = 30.0) -> LocalChain:
    """Start Anvil or Ganache on a free loopback port with a fresh random mnemonic; wait until it answers."""
    port = port or free_port()
    mnemonic = Account.create_with_mnemonic()[1]
    binary = find_binary(kind)
    if kind == "anvil":
        args = [binary, "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(chain_id),
                "--accounts", str(accounts), "--mnemonic", mnemonic, "--silent"]
        if state_file is not None:
            args += ["--state", str(state_file), "--state-interval", "2"]
    elif kind == "ganache":
        args = [binary, "--server.host", "127.0.0.1", "--server.port", str(port), "--chain.chainId",
                str(chain_id), "--chain.hardfork", "merge", "--wallet.totalAccounts", str(accounts),
                "--wallet.mnemonic", mnemonic, "--logging.quiet"]
        if state_file is not None:
            args += ["--database.dbPath", str(state_file)]
    else:
        raise DevChainError(f"unknown chain kind {kind!r}: use anvil or ganache")
    if log_file is not None:
        with open(log_file, "ab") as log:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                       start_new_session=detach)
    else:
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   stdin=subprocess.DEVNULL, start_new_session=detach)
    derived = [Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}") for i in range(accounts)]
    chain = LocalChain(kind, f"http://127.0.0.1:{port}", port, process, derived, process.pid)
    deadline = time.monotonic() + startup_timeout
    while True:
        if process.poll() is not None:
            raise DevChainError(f"{kind} exited with code {process.returncode} while starting")
        try:
            connect(chain.rpc_url, timeout=2)
            return chain
        except ChainUnreachable:
            if time.monotonic() > deadline:
                chain.stop()
                raise DevChainError(f"{kind} did not answer on {chain.rpc_url} within {startup_timeout:.0f}s")
            time.sleep(0.1)


@dataclass
class DevNetwork:
    """Contracts deployed on a local chain with a dev accreditation chain RootTAO -> TAO -> TI."""

    chain: LocalChain
    deployment: Deployment
    root_tao: LocalAccount = field(repr=False)
    tao: LocalAccount = field(repr=False)
    issuer: LocalAccount = field(repr=False)

    def registry(self, w3: Web3) -> IssuerRegistry:
        return IssuerRegistry(w3, self.deployment.issuer_registry)

    def anchor(self, w3: Web3) -> CredentialAnchor:
        return CredentialAnchor(w3, self.deployment.credential_anchor)

    def role_accounts(self) -> dict[str, LocalAccount]:
        return {"root-tao": self.root_tao, "tao": self.tao, "issuer": self.issuer}


def bootstrap_dev_network(chain: LocalChain) -> DevNetwork:
    """Deploy both contracts from account 0 (RootTAO); accredit account 1 as TAO and account 2 as TI."""
    from anchoring.transactions import TransactionSender

    w3 = chain.web3()
    root_tao, tao, issuer = chain.accounts[:3]
    root_sender = TransactionSender(w3, root_tao)
    deployment = deploy_contracts(root_sender, DEV_DIDS["root-tao"], keccak256(b"dev alliance charter"))
    registry = IssuerRegistry(w3, deployment.issuer_registry)
    root_sender.transact(registry.accredit(tao.address, IssuerKind.TAO, DEV_DIDS["tao"],
                                           keccak256(b"dev accreditation of the QA agency"), "*"))
    TransactionSender(w3, tao).transact(registry.accredit(
        issuer.address, IssuerKind.TI, DEV_DIDS["issuer"], keccak256(b"dev accreditation of the university"),
        DEV_SCOPE))
    return DevNetwork(chain, deployment, root_tao, tao, issuer)


# --- a detached dev chain under a data folder, for `credreg chain up/down` and `credreg dev` ---

@dataclass(frozen=True)
class DevChainFiles:
    data_dir: Path

    @property
    def chain_dir(self) -> Path:
        return self.data_dir / "chain"

    @property
    def pid_file(self) -> Path:
        return self.chain_dir / "chain.json"

    @property
    def state_file(self) -> Path:
        return self.chain_dir / "anvil-state.json"

    @property
    def log_file(self) -> Path:
        return self.chain_dir / "anvil.log"

    @property
    def deployment_file(self) -> Path:
        return self.data_dir / "deployment.json"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def password_file(self) -> Path:
        return self.keys_dir / "password"

    def keystore(self, role: str) -> Path:
        return self.keys_dir / f"{role}.json"


@dataclass(frozen=True)
class RunningDevChain:
    rpc_url: str
    pid: int
    deployment: Deployment
    how: str  # "started", "resumed" (saved state reloaded) or "already running"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_our_chain(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return _process_alive(pid)
    return any(part.endswith((b"anvil", b"ganache", b"node")) for part in cmdline[:2])


def chain_status(data_dir: Path) -> dict | None:
    """The recorded dev chain of `data_dir` when its process is still running, else None."""
    files = DevChainFiles(Path(data_dir))
    if not files.pid_file.exists():
        return None
    info = json.loads(files.pid_file.read_text())
    if not (_process_alive(info["pid"]) and _is_our_chain(info["pid"])):
        return None
    return info


def chain_up(data_dir: Path, port: int | None = None) -> RunningDevChain:
    """Start (or find) the dev chain of `data_dir`, deploy and accredit on first start, write the files.

    The chain state persists under the data folder, so a second `chain up` after `chain down` resumes the
    same chain with the same contracts and keys.
    """
    files = DevChainFiles(Path(data_dir))
    running = chain_status(files.data_dir)
    if running is not None:
        return RunningDevChain(running["rpc_url"], running["pid"], Deployment.load(files.deployment_file),
                               "already running")
    files.chain_dir.mkdir(parents=True, exist_ok=True)
    resuming = files.state_file.exists() and files.deployment_file.exists() and files.password_file.exists()
    if port is None and _port_free(8545):
        port = 8545  # the port wallets and tools expect for a local chain, when it is free
    chain = start_local_chain("anvil", port=port,
                              state_file=files.state_file, log_file=files.log_file, detach=True)
    try:
        if resuming:
            deployment = Deployment.load(files.deployment_file)
            w3 = chain.web3()
            if w3.eth.get_code(deployment.credential_anchor) == b"":
                raise DevChainError(f"the saved chain state in {files.state_file} lacks the deployed contracts; "
                                    f"remove {files.chain_dir} and {files.deployment_file} to start afresh")
        else:
            network = bootstrap_dev_network(chain)
            deployment = network.deployment
            password = new_password_file(files.password_file)
            for role, account in network.role_accounts().items():
                # Dev keys only: a cheaper scrypt keeps `make run` quick; real keys use the default cost.
                write_keystore(account, files.keystore(role), password, iterations=2**14)
            deployment.save(files.deployment_file)
    except BaseException:
        chain.stop()
        raise
    files.pid_file.write_text(json.dumps({"pid": chain.pid, "rpc_url": chain.rpc_url, "port": chain.port}))
    return RunningDevChain(chain.rpc_url, chain.pid, deployment, "resumed" if resuming else "started")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def chain_down(data_dir: Path, timeout: float = 10.0) -> bool:
    """Stop only the chain process that `chain_up` started for `data_dir`. False when none was running."""
    files = DevChainFiles(Path(data_dir))
    info = chain_status(files.data_dir)
    if info is None:
        files.pid_file.unlink(missing_ok=True)
        return False
    pid = info["pid"]
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _process_alive(pid) and time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    if _process_alive(pid):
        os.kill(pid, signal.SIGKILL)
    files.pid_file.unlink(missing_ok=True)
    return True
