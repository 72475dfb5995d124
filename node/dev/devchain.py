"""A detached dev chain under a data folder, for credreg chain up/down and credreg dev."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from eth_utils import to_checksum_address

from anchoring.chain.deployment import Deployment
from node.auth.credential_keys import write_key_file
from node.auth.keys import new_password_file, write_keystore
from node.dev.chains import DevChainError, start_local_chain
from node.dev.network import bootstrap_dev_network, dev_credential_signer


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

    def state_of(self, kind: str) -> Path | None:
        """Where a chain of `kind` keeps its state between runs (None: Hardhat Network keeps none)."""
        return {"anvil": self.state_file, "ganache": self.chain_dir / "ganache-db"}.get(kind)

    @property
    def log_file(self) -> Path:
        return self.chain_dir / "chain.log"

    @property
    def kind_file(self) -> Path:
        """Which kind of chain the saved state belongs to."""
        return self.chain_dir / "kind.json"

    @property
    def deployment_file(self) -> Path:
        return self.data_dir / "deployment.json"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def password_file(self) -> Path:
        return self.keys_dir / "password"

    @property
    def credential_key(self) -> Path:
        """Where Settings looks for the node issuer's Ed25519 credential key by default."""
        return self.keys_dir / "credential-ed25519.pem"

    def keystore(self, role: str) -> Path:
        return self.keys_dir / f"{role}.json"


@dataclass(frozen=True)
class RunningDevChain:
    rpc_url: str
    pid: int
    deployment: Deployment
    how: str  # "started", "resumed" (saved state reloaded) or "already running"
    kind: str = "anvil"


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


CHAIN_KINDS = ("anvil", "ganache", "hardhat")


def chain_up(data_dir: Path, port: int | None = None, kind: str = "anvil") -> RunningDevChain:
    """Start (or find) the dev chain of `data_dir`, deploy and accredit on first start, write the files.

    Anvil and Ganache keep their state under the data folder, so a second `chain up` after `chain down` resumes
    the same chain with the same contracts and keys. Hardhat Network keeps no state: each `chain up --kind
    hardhat` deploys afresh (and rewrites the deployment file and dev keys).
    """
    if kind not in CHAIN_KINDS:
        raise DevChainError(f"unknown chain kind {kind!r}: use {', '.join(CHAIN_KINDS)}")
    files = DevChainFiles(Path(data_dir))
    running = chain_status(files.data_dir)
    if running is not None:
        if running.get("kind", "anvil") != kind:
            raise DevChainError(
                f"a {running.get('kind', 'anvil')} chain of this data folder is running ({running['rpc_url']}): "
                "stop it first (credreg chain down)"
            )
        return RunningDevChain(
            running["rpc_url"],
            running["pid"],
            Deployment.load(files.deployment_file),
            "already running",
            kind,
        )
    files.chain_dir.mkdir(parents=True, exist_ok=True)
    state = files.state_of(kind)
    saved = json.loads(files.kind_file.read_text()) if files.kind_file.exists() else {"kind": "anvil"}
    if state is not None and state.exists() and saved.get("kind") != kind:
        raise DevChainError(
            f"{files.chain_dir} holds a {saved.get('kind')} chain: use --kind {saved.get('kind')}, or remove "
            f"{files.chain_dir} and {files.deployment_file} to start afresh"
        )
    resuming = (
        state is not None
        and state.exists()
        and files.deployment_file.exists()
        and files.password_file.exists()
    )
    if port is None and _port_free(8545):
        port = 8545  # the port wallets and tools expect for a local chain, when it is free
    chain = start_local_chain(kind, port=port, state_file=state, log_file=files.log_file, detach=True)
    try:
        if resuming:
            deployment = Deployment.load(files.deployment_file)
            w3 = chain.web3()
            # already checksummed by Deployment: this only gives web3 the type it asks for
            if w3.eth.get_code(to_checksum_address(deployment.credential_anchor)) == b"":
                raise DevChainError(
                    f"the saved chain state in {files.state_file} lacks the deployed contracts; "
                    f"remove {files.chain_dir} and {files.deployment_file} to start afresh"
                )
        else:
            network = bootstrap_dev_network(chain)
            deployment = network.deployment
            password = new_password_file(files.password_file)
            for role, account in network.role_accounts().items():
                # Dev keys only: a cheaper scrypt keeps `make run` quick; real keys use the default cost.
                write_keystore(account, files.keystore(role), password, iterations=2**14)
            # the dev issuer's credential-signing key (registered on chain by bootstrap_dev_network), encrypted
            # with the same password; the node attaches it to its issuer on start
            write_key_file(dev_credential_signer(), files.credential_key, password)
            deployment.save(files.deployment_file)
    except BaseException:
        chain.stop()
        raise
    assert chain.pid is not None  # start_local_chain started the process
    files.pid_file.write_text(
        json.dumps({"pid": chain.pid, "rpc_url": chain.rpc_url, "port": chain.port, "kind": kind})
    )
    files.kind_file.write_text(json.dumps({"kind": kind}))
    return RunningDevChain(chain.rpc_url, chain.pid, deployment, "resumed" if resuming else "started", kind)


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
