"""Prometheus metrics of the node, in one registry (``REGISTRY``) served at ``/metrics``.

The anchorer observes ``ANCHOR_LATENCY`` (seconds from batch sealed to confirmed) and adds to
``GAS_USED``; ``observe_confirmation(batch)`` does both from a confirmed Batch row.
Queue depth and batches-by-state are read from the database at scrape time (``refresh_from_db``).
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,  # noqa: F401  (re-export)
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

__all__ = [
    "ANCHOR_ERRORS",
    "ANCHOR_LATENCY",
    "BACKLOG_AGE",
    "BATCHES",
    "BATCHES_SEALED",
    "CREDENTIALS_ACCEPTED",
    "FAILED_BATCHES",
    "FAILED_CREDENTIALS",
    "GAS_USED",
    "LEASE_HELD",
    "LEASE_TOKEN",
    "PIPELINES_LIVE",
    "QUEUE_DEPTH",
    "REGISTRY",
    "observe_confirmation",
    "refresh_from_db",
    "refresh_pipeline",
    "render",
]

REGISTRY = CollectorRegistry(auto_describe=True)

QUEUE_DEPTH = Gauge(
    "credreg_pending_credentials",
    "Credentials accepted and not yet in a batch (queue depth)",
    registry=REGISTRY,
)
BATCHES = Gauge("credreg_batches", "Batches by state", ["state"], registry=REGISTRY)
ANCHOR_LATENCY = Histogram(
    "credreg_anchor_latency_seconds",
    "Seconds from batch sealed to confirmed on chain",
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600),
    registry=REGISTRY,
)
GAS_USED = Counter("credreg_anchor_gas_used", "Gas used by anchor transactions", registry=REGISTRY)
CREDENTIALS_ACCEPTED = Counter(
    "credreg_credentials_accepted",
    "Credentials newly stored (idempotent replays not counted)",
    registry=REGISTRY,
)
BATCHES_SEALED = Counter("credreg_batches_sealed", "Batches sealed", registry=REGISTRY)
ANCHOR_ERRORS = Counter(
    "credreg_anchor_errors", "Anchoring attempts that failed", ["kind"], registry=REGISTRY
)
FAILED_BATCHES = Gauge(
    "credreg_failed_batches",
    "Batches failed for good, by the contract error that failed them (`credreg batches retry` takes them on)",
    ["error"],
    registry=REGISTRY,
)
FAILED_CREDENTIALS = Gauge(
    "credreg_failed_credentials",
    "Credentials in failed batches (not anchored until their batch is retried), by error",
    ["error"],
    registry=REGISTRY,
)


LEASE_TOKEN = Gauge(
    "credreg_lease_token",
    "Fencing token of each pipeline lease (grows by one at every takeover)",
    ["lease"],
    registry=REGISTRY,
)
LEASE_HELD = Gauge(
    "credreg_lease_held",
    "1 while a pipeline process holds the lease (unexpired), by lease and holder (host:pid:random)",
    ["lease", "holder"],
    registry=REGISTRY,
)
PIPELINES_LIVE = Gauge(
    "credreg_pipeline_processes_live", "Pipeline processes whose heartbeat is recent", registry=REGISTRY
)
BACKLOG_AGE = Gauge(
    "credreg_backlog_age_seconds",
    "Age of the oldest waiting work: a pending credential or a sealed/submitted batch (0 when nothing waits)",
    registry=REGISTRY,
)


def refresh_pipeline(state) -> None:
    """Lease and backlog gauges from ``node.reads.pipeline.pipeline_state``."""
    LEASE_TOKEN.clear()
    LEASE_HELD.clear()
    for lease in state.leases:
        LEASE_TOKEN.labels(lease=lease.name).set(lease.token)
        if lease.live:
            LEASE_HELD.labels(lease=lease.name, holder=lease.holder).set(1)
    PIPELINES_LIVE.set(len(state.live_processes))
    BACKLOG_AGE.set((state.backlog.age_seconds or 0.0) if state.backlog is not None else 0.0)


def observe_confirmation(batch) -> None:
    """Record latency (created_at -> confirmed_at) and gas of a confirmed batch."""
    if batch.confirmed_at is not None and batch.created_at is not None:
        ANCHOR_LATENCY.observe(max(0.0, (batch.confirmed_at - batch.created_at).total_seconds()))
    if batch.gas_used:
        GAS_USED.inc(batch.gas_used)


def refresh_from_db(session) -> None:
    from node.reads.counts import batch_counts, failed_counts, pending_count

    QUEUE_DEPTH.set(pending_count(session))
    counts = batch_counts(session)
    for state in ("sealed", "submitted", "confirmed", "failed", "resealed"):
        BATCHES.labels(state=state).set(counts.get(state, 0))
    failed = failed_counts(session)
    for gauge in (FAILED_BATCHES, FAILED_CREDENTIALS):
        gauge.clear()  # an error no batch fails with any more disappears
    for error, (batches, credentials) in failed.items():
        FAILED_BATCHES.labels(error=error).set(batches)
        FAILED_CREDENTIALS.labels(error=error).set(credentials)


def render() -> bytes:
    return generate_latest(REGISTRY)
