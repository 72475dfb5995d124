"""The running node: from one Settings object to a database, a signing key, a chain connection and the background pipeline."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import select

from anchoring.chain.contracts import CredentialAnchor, IssuerRegistry
from anchoring.chain.deployment import Deployment
from anchoring.chain.rpc import connect
from anchoring.chain.transactions import ChainSigner, TransactionSender
from anchoring.errors import ChainError
from node.auth.credential_keys import attach_configured_keys
from node.auth.signers import load_chain_signer
from node.auth.tokens import get_or_create_issuer
from node.errors import ConfigurationError
from node.pipeline.anchorer import Anchorer
from node.pipeline.lease import INDEXER_LEASE, Lease, LeaseKeeper, lease_name, new_holder_id
from node.pipeline.publisher import Publisher
from node.pipeline.retry import RetryLoop
from node.pipeline.revoker import Revoker
from node.pipeline.sealer import seal_due_batches
from node.pipeline.signer import SignerLoop, SignerPasses
from node.pipeline.watch import ChainWatcher
from node.registry.indexer import Indexer, IndexerLoop
from node.revocation.statuslists import StatusListConfig
from node.settings import Settings
from node.storage.db import make_engine, session_factory, session_scope, upgrade
from node.storage.models import Issuer

log = logging.getLogger("credreg.node")


class BatcherLoop(RetryLoop):
    """Seals due batches on a short tick; sealing itself is idempotent and safe beside other workers."""

    def __init__(self, factory: sessionmaker, settings: Settings, tick: float | None = None):
        tick = tick if tick is not None else max(0.05, min(0.5, settings.batch_max_age_seconds / 4))
        # a failed tick is retried at the next tick: the backoff cap is the tick itself
        super().__init__("batcher", lambda: bool(seal_due_batches(factory, settings)), tick, tick)


class LeasedIndexerLoop(IndexerLoop):
    """The indexer under the ``indexer`` lease: one process indexes, a standby takes over when it stops."""

    def __init__(self, indexer: Indexer, lease: Lease):
        super().__init__(indexer, max_backoff=min(30.0, lease.ttl / 2))
        self.lease = lease
        self.expected += (sa.exc.OperationalError,)  # the database gone for a while: warn and retry

    def _step(self) -> bool:
        if not self.lease.held and not self.lease.try_acquire():
            return False
        return super()._step()


@dataclass
class NodeRuntime:
    settings: Settings
    engine: Engine
    factory: sessionmaker
    deployment: Deployment
    account: ChainSigner = field(repr=False)
    issuer_id: int
    rpc_url: str
    threads: list[threading.Thread] = field(default_factory=list)
    loops: list = field(default_factory=list)
    #: this process's lease holder id and heartbeat (set by ``start_pipeline``)
    holder: str | None = None
    keeper: LeaseKeeper | None = None

    @classmethod
    def from_settings(cls, settings: Settings, migrate: bool = True) -> NodeRuntime:
        if not settings.rpc_url:
            raise ConfigurationError("CREDREG_RPC_URL is not set")
        try:
            deployment = Deployment.load(settings.resolved_deployment_file)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        account = load_chain_signer(settings)
        engine = make_engine(settings.resolved_database_url)
        if migrate:
            upgrade(engine)
        factory = session_factory(engine)
        w3 = connect(settings.rpc_url, deployment=deployment)
        try:
            did = IssuerRegistry(w3, deployment.issuer_registry).get_issuer(account.address).did
        except ChainError:
            did = None  # not (yet) accredited: the anchorer reports NotActiveIssuer per batch
        with session_scope(factory) as session:
            # an operator may have registered the issuer under a friendly name (`credreg token create`)
            issuer = session.exec(select(Issuer).where(Issuer.address == account.address)).first()
            if issuer is None:
                issuer = get_or_create_issuer(session, did or account.address, account.address, did)
            if did is not None and issuer.did is None:
                issuer.did = did  # accredited since the row was made
                session.add(issuer)
                session.commit()
            attach_configured_keys(session, settings, issuer)
            issuer_id = issuer.id
        assert issuer_id is not None  # a stored issuer
        return cls(settings, engine, factory, deployment, account, issuer_id, settings.rpc_url)

    # each outbox kind gets a connection and a sender of its own; ``options`` go to the outbox core
    # (``drop_grace_seconds``, ``fence``)
    def anchorer(self, **options) -> Anchorer:
        w3 = self._connect()
        return Anchorer(
            self.factory,
            TransactionSender(w3, self.account),
            CredentialAnchor(w3, self.deployment.credential_anchor),
            self.issuer_id,
            self.settings.confirmations,
            self.deployment.chain_id,
            **options,
        )

    def revoker(self, **options) -> Revoker:
        w3 = self._connect()
        return Revoker(
            self.factory,
            TransactionSender(w3, self.account),
            CredentialAnchor(w3, self.deployment.credential_anchor),
            self.issuer_id,
            self.settings.confirmations,
            StatusListConfig.from_settings(self.settings),
            **options,
        )

    def publisher(self, **options) -> Publisher:
        w3 = self._connect()
        return Publisher(
            self.factory,
            TransactionSender(w3, self.account),
            CredentialAnchor(w3, self.deployment.credential_anchor),
            self.issuer_id,
            self.settings.confirmations,
            StatusListConfig.from_settings(self.settings),
            **options,
        )

    def indexer(self) -> Indexer:
        w3 = self._connect()
        return Indexer(self.factory, w3, self.deployment, self.settings.confirmations)

    def _connect(self):
        return connect(self.rpc_url, timeout=self.settings.rpc_timeout_seconds, deployment=self.deployment)

    def lease(self, name: str) -> Lease:
        """The lease ``name`` as held by this process (``lease_name(address)`` for a chain key's)."""
        assert self.holder is not None, "start_pipeline sets the holder"
        return Lease(self.engine, name, self.holder, self.settings.lease_ttl_seconds)

    def start_pipeline(self) -> None:
        """Start the batcher, the anchorer + revoker + status-list publisher (one thread under the key's lease),
        the indexer (under the indexer lease), the lease keeper (heartbeat) and the chain watcher."""
        ttl = self.settings.lease_ttl_seconds
        self.holder = new_holder_id()
        signer_lease = self.lease(lease_name(self.account.address))
        indexer_lease = self.lease(INDEXER_LEASE)
        self.keeper = LeaseKeeper(self.engine, self.holder, [signer_lease, indexer_lease], ttl / 3)
        signer = SignerPasses(self.anchorer(), self.revoker(), self.publisher())
        self.loops = [
            BatcherLoop(self.factory, self.settings),
            SignerLoop(signer, signer_lease, interval=min(0.25, ttl / 8)),
            LeasedIndexerLoop(self.indexer(), indexer_lease),
            self.keeper,
            ChainWatcher(
                self.keeper.state,
                self.rpc_url,
                self.deployment,
                interval=ttl / 3,
                timeout=self.settings.chain_probe_timeout_seconds,
            ),
        ]
        for loop in self.loops:
            thread = threading.Thread(target=self._guard(loop), name=type(loop).__name__, daemon=True)
            thread.start()
            self.threads.append(thread)

    @staticmethod
    def _guard(loop):
        def run():
            try:
                loop.run()
            except Exception:
                log.exception("%s stopped", type(loop).__name__)

        return run

    def stop_pipeline(self, timeout: float = 10.0) -> None:
        for loop in self.loops:
            loop.stop()
        for thread in self.threads:
            thread.join(timeout)
        self.threads.clear()
        if self.keeper is not None:
            try:
                self.keeper.remove()
            except Exception:  # noqa: BLE001 - the row ages out by itself
                log.warning("could not remove the heartbeat row of %s", self.holder)
            self.keeper = None

    def close(self) -> None:
        self.stop_pipeline()
        self.engine.dispose()
