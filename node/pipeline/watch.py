"""The pipeline's view of the chain, for ``/readyz``: a thread that asks the chain (short timeouts) for its head
block and both contracts' ``version()`` and leaves the answer in the heartbeat state, which ``LeaseKeeper`` writes
to ``pipeline_heartbeat``. API workers read that row and never wait for the chain to answer a readiness probe."""

from __future__ import annotations

import logging
import threading

from web3 import HTTPProvider, Web3

from anchoring.chain.contracts import anchor_reader, registry_reader
from anchoring.chain.deployment import Deployment
from node.storage.models import utcnow

log = logging.getLogger("credreg.watch")


class ChainWatcher:
    """Every ``interval``: ``state["chain"]`` = head block (or the error) and ``state["contracts"]`` = on-chain
    versions against the deployment file's. Messages never name the endpoint (its URL may carry an API key)."""

    def __init__(self, state: dict, rpc_url: str, deployment: Deployment, interval: float, timeout: float):
        self.state = state
        self.rpc_url = rpc_url
        self.deployment = deployment
        self.interval = interval
        self.w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
        self.stop_event = threading.Event()

    def probe(self) -> None:
        checked = utcnow().isoformat() + "Z"
        try:
            block = int(self.w3.eth.block_number)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            self.state["chain"] = {
                "ok": False,
                "message": f"chain unreachable: {type(exc).__name__}",
                "checked_at": checked,
            }
            return
        chain = {"ok": True, "message": f"block {block}", "block": block, "checked_at": checked}
        # both published in one step: the lease keeper may write the state between two assignments, and a reader
        # would see this pass's chain beside the previous pass's contracts (or none yet)
        self.state.update(chain=chain, contracts=self._contracts(checked))

    def _contracts(self, checked: str) -> dict:
        contracts = self.deployment.current
        try:
            found = {
                "IssuerRegistry": (contracts.issuer_registry, registry_reader(self.w3, contracts).version()),
                "CredentialAnchor": (
                    contracts.credential_anchor,
                    anchor_reader(self.w3, contracts).version(),
                ),
            }
        except Exception as exc:  # noqa: BLE001
            return {
                "ok": False,
                "message": f"cannot read the contracts' versions: {type(exc).__name__}",
                "checked_at": checked,
            }
        wrong = [
            f"{name} {address} is {onchain}, the deployment file says {contracts.version}"
            for name, (address, onchain) in found.items()
            if onchain != contracts.version
        ]
        versions = {name: onchain for name, (_, onchain) in found.items()}
        return {
            "ok": not wrong,
            "message": "; ".join(wrong) or ", ".join(f"{name} {v}" for name, v in versions.items()),
            "versions": versions,
            "checked_at": checked,
        }

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.probe()
            self.stop_event.wait(self.interval)

    def stop(self) -> None:
        self.stop_event.set()
