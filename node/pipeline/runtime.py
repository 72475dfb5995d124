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
from node.auth.tenants import load_tenant_keys
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
from node.storage.db import make_engine, refresh_statistics, session_factory, session_scope, upgrade
from node.storage.models import Issuer

log = logging.getLogger("credreg.node")


class BatcherLoop(RetryLoop):
    """Seals due batches on a short tick; sealing itself is idempotent and safe beside other workers."""

    def __init__(self, factory: sessionmaker, settings: Settings, tick: float | None = None):
        tick = tick if tick is not None else max(0.05, min(0.5, settings.batch_max_age_seconds / 4))
        # a failed tick is retried at the next tick: the backoff cap is the tick itself
        super().__init__("batcher", lambda: self._seal(factory, settings), tick, tick)

    @staticmethod
    def _seal(factory: sessionmaker, settings: Settings) -> bool:
        # a few batches per pass, then the statistics: a backlog sealed in one pass would outgrow them meanwhile
        if not seal_due_batches(factory, settings, max_batches=20):
            return False
        with factory() as session:  # sealing is what grows the tables: keep their statistics up with them
            analyzed = refresh_statistics(session.connection())
            session.commit()
        if analyzed:
            log.debug("refreshed planner statistics of %s", ", ".join(analyzed))
        return True


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


class TenantWatcher(RetryLoop):
    """Every few seconds, starts the signer loops of issuers whose keys were added while the node runs."""

    def __init__(self, runtime: NodeRuntime, interval: float = 2.0):
        # never "progressed": one look per interval is enough
        super().__init__("tenants", lambda: runtime.add_new_tenants() and False, interval, interval)


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
    #: the chain key of each issuer this node anchors for (the default issuer's first)
    keys: dict[int, ChainSigner] = field(default_factory=dict, repr=False)
    #: issuers whose keystore could not be loaded, and why
    key_problems: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.keys.setdefault(self.issuer_id, self.account)
        self._loops_lock = threading.Lock()
        self._stopping = False

    @classmethod
    def from_settings(cls, settings: Settings, migrate: bool = True) -> NodeRuntime:
        if not settings.rpc_url:
            raise ConfigurationError("CREDREG_RPC_URL is not set")
        try:
            deployment = Deployment.load(settings.resolved_deployment_file)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        engine = make_engine(settings.resolved_database_url)
        if migrate:
            upgrade(engine)
        factory = session_factory(engine)
        with factory() as session:
            tenants = load_tenant_keys(session, settings)
        configured = (
            settings.issuer_keystore is not None
            or settings.issuer_private_key is not None
            or settings.pkcs11_chain_key_label is not None
        )
        usable = [t for t in tenants if t.account is not None]
        account: ChainSigner
        if not configured and usable:
            first = usable[0]  # an alliance node without a key of its own: its first tenant is the default
            assert first.account is not None
            account, issuer_id = first.account, first.issuer_id
        else:
            try:
                account = load_chain_signer(settings)
            except ConfigurationError:
                engine.dispose()
                raise
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
                assert issuer.id is not None  # a stored issuer
                issuer_id = issuer.id
        runtime = cls(settings, engine, factory, deployment, account, issuer_id, settings.rpc_url)
        runtime.keys = {issuer_id: account}
        for tenant in tenants:
            if tenant.account is not None:
                runtime.keys.setdefault(tenant.issuer_id, tenant.account)
            else:
                runtime.key_problems[tenant.issuer_id] = tenant.problem or "unusable key"
        return runtime

    def _account(self, issuer_id: int | None) -> tuple[int, ChainSigner]:
        if issuer_id is None:
            return self.issuer_id, self.account
        try:
            return issuer_id, self.keys[issuer_id]
        except KeyError:
            raise ConfigurationError(
                self.key_problems.get(issuer_id, f"issuer {issuer_id} has no chain key on this node")
            ) from None

    # each outbox kind gets a connection and a sender of its own; ``options`` go to the outbox core
    # (``drop_grace_seconds``, ``fence``)
    def anchorer(self, issuer_id: int | None = None, **options) -> Anchorer:
        issuer_id, account = self._account(issuer_id)
        w3 = self._connect()
        return Anchorer(
            self.factory,
            TransactionSender(w3, account),
            CredentialAnchor(w3, self.deployment.credential_anchor),
            issuer_id,
            self.settings.confirmations,
            self.deployment.chain_id,
            **options,
        )

    def revoker(self, issuer_id: int | None = None, **options) -> Revoker:
        issuer_id, account = self._account(issuer_id)
        w3 = self._connect()
        return Revoker(
            self.factory,
            TransactionSender(w3, account),
            CredentialAnchor(w3, self.deployment.credential_anchor),
            issuer_id,
            self.settings.confirmations,
            StatusListConfig.from_settings(self.settings),
            **options,
        )

    def publisher(self, issuer_id: int | None = None, **options) -> Publisher:
        issuer_id, account = self._account(issuer_id)
        w3 = self._connect()
        return Publisher(
            self.factory,
            TransactionSender(w3, account),
            CredentialAnchor(w3, self.deployment.credential_anchor),
            issuer_id,
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

    def signer_passes(self, issuer_id: int | None = None) -> SignerPasses:
        """The anchorer, revoker and status-list publisher of one issuer key, as one pass."""
        return SignerPasses(self.anchorer(issuer_id), self.revoker(issuer_id), self.publisher(issuer_id))

    def _signer_loop(self, issuer_id: int) -> SignerLoop:
        """One issuer key's signer loop under that key's lease (added to the heartbeat's leases)."""
        assert self.keeper is not None, "start_pipeline made the keeper"
        lease = self.lease(lease_name(self.keys[issuer_id].address))
        self.keeper.leases.append(lease)
        ttl = self.settings.lease_ttl_seconds
        return SignerLoop(self.signer_passes(issuer_id), lease, interval=min(0.25, ttl / 8))

    def start_pipeline(self) -> None:
        """Start the batcher, one signer loop per issuer key (anchorer + revoker + status-list publisher: one
        thread under that key's lease each, so one issuer's stuck, unfunded or suspended key never holds up
        another's), the indexer (under the indexer lease), the lease keeper (heartbeat), the chain watcher and a
        watcher that starts the loops of issuers added later."""
        ttl = self.settings.lease_ttl_seconds
        self.holder = new_holder_id()
        indexer_lease = self.lease(INDEXER_LEASE)
        self.keeper = LeaseKeeper(self.engine, self.holder, [indexer_lease], ttl / 3)
        self.loops = [BatcherLoop(self.factory, self.settings)]
        self.loops += [self._signer_loop(issuer_id) for issuer_id in list(self.keys)]
        self.loops += [
            LeasedIndexerLoop(self.indexer(), indexer_lease),
            self.keeper,
            ChainWatcher(
                self.keeper.state,
                self.rpc_url,
                self.deployment,
                interval=ttl / 3,
                timeout=self.settings.chain_probe_timeout_seconds,
            ),
            TenantWatcher(self),
        ]
        self._stopping = False
        for loop in list(self.loops):  # a copy: the tenant watcher, started last, may add loops of its own
            self._start(loop)

    def _start(self, loop) -> None:
        thread = threading.Thread(target=self._guard(loop), name=type(loop).__name__, daemon=True)
        thread.start()
        self.threads.append(thread)

    def add_new_tenants(self) -> bool:
        """Load the keys of issuers added since the start (``credreg issuer add``) and start their signer loops."""
        with self.factory() as session:
            fresh = load_tenant_keys(session, self.settings, skip=set(self.keys) | set(self.key_problems))
        started = False
        for tenant in fresh:
            if tenant.account is None:
                self.key_problems[tenant.issuer_id] = tenant.problem or "unusable key"
                continue
            self.keys[tenant.issuer_id] = tenant.account
            log.info("issuer %s (%s): signer loop started", tenant.name, tenant.address)
            with self._loops_lock:
                if self.loops and not self._stopping:  # the pipeline runs: give the new key its loop
                    loop = self._signer_loop(tenant.issuer_id)
                    self.loops.append(loop)
                    self._start(loop)
            started = True
        return started

    @staticmethod
    def _guard(loop):
        def run():
            try:
                loop.run()
            except Exception:
                log.exception("%s stopped", type(loop).__name__)

        return run

    def stop_pipeline(self, timeout: float = 10.0) -> None:
        with self._loops_lock:  # the tenant watcher adds no loop from here on
            self._stopping = True
            loops = list(self.loops)
        for loop in loops:
            loop.stop()
        for thread in list(self.threads):
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
