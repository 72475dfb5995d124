"""Nodes for tests: an app on a fresh database, a node with its pipeline stopped on a chain of its own, batches confirmed without a chain."""

from __future__ import annotations

from anchoring.chain.contracts import CredentialAnchor
from anchoring.chain.deployment import Deployment
from node.cli.embedded import EmbeddedNode, node_settings
from node.dev.chains import start_local_chain
from node.dev.network import bootstrap_dev_network
from node.pipeline.batches import record_confirmation, record_submission
from node.pipeline.sealer import seal_due_batches
from node.storage.models import Batch
from tests.helpers.credentials import cred, sample_credential


def build_app(tmp_path, rpc_url: str | None, deployment: Deployment, **overrides):
    """create_app on a fresh SQLite database, verifying against ``deployment`` on ``rpc_url``."""
    from api.app import create_app
    from node.settings import Settings
    from node.storage.db import make_engine, upgrade

    dep_file = tmp_path / "deployment.json"
    deployment.save(dep_file)
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'node.db'}",
        rpc_url=rpc_url,
        deployment_file=dep_file,
        **overrides,
    )
    engine = make_engine(settings.database_url)
    upgrade(engine)
    return create_app(settings, engine=engine)


def anchored_events(anchor: CredentialAnchor, root: bytes) -> list:
    return anchor.contract.events.Anchored().get_logs(
        from_block=0, argument_filters={"root": root}
    )  # any issuer


class PrivateNode:
    """A node with its pipeline stopped on a chain of its own, one credential issued and sealed into batch 1:
    for tests that stop the chain, freeze mining or rewrite its history."""

    def __init__(self, tmp_path):
        self.chain = start_local_chain("anvil")
        self.network = bootstrap_dev_network(self.chain)
        self.w3 = self.chain.web3()
        self.settings = node_settings(
            tmp_path, self.chain.rpc_url, self.network.deployment, self.network.issuer.key
        )
        self.node = EmbeddedNode(self.settings, pipeline=False)
        self.digest = self.node.issue(sample_credential(1))
        assert seal_due_batches(self.node.runtime.factory, self.settings, force=True)
        self.anchor = CredentialAnchor(self.w3, self.network.deployment.credential_anchor)

    def batch(self) -> Batch:
        with self.node.runtime.factory() as session:
            return session.get(Batch, 1)

    def close(self) -> None:
        self.node.stop()
        self.chain.stop()


def issue_anchored(client, issuer, session_factory, settings, n: int, start: int = 0) -> list[str]:
    digests = []
    if n:
        r = client.post(
            "/v1/credentials/bulk", headers=issuer.headers, json=[cred(i) for i in range(start, start + n)]
        )
        assert r.status_code == 202, r.text
        digests = r.json()["digests"]
    for batch_id in seal_due_batches(session_factory, settings, force=True, issuer_id=issuer.id):
        with session_factory() as s:
            batch = s.get(Batch, batch_id)
            record_submission(s, batch, nonce=batch_id, tx_hash="0x" + f"{batch_id:064x}")
            record_confirmation(s, batch, block_number=1, block_hash="0x" + "ab" * 32, confirmations=1)
    return digests


def wait_published(node, purpose: str, timeout: float = 30.0) -> None:
    """Until ``node``'s status list of ``purpose`` has its newest revision's hash on chain."""
    import time

    from sqlmodel import select

    from node.storage.revocation_tables import StatusList

    deadline = time.monotonic() + timeout
    while True:
        with node.runtime.factory() as s:
            lst = s.exec(select(StatusList).where(StatusList.purpose == purpose)).one()
            if lst.published_revision == lst.revision:
                return
        assert time.monotonic() < deadline, "status list not published"
        time.sleep(0.2)
