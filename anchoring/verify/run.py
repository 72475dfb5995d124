"""Verifying bundles: the offline checks of each, then one chain snapshot for all of them.

from anchoring.chain.deployment import Deployment
from anchoring.verify import ChainContext, verify_bundle, verify_bundles

chain = ChainContext("http://127.0.0.1:8545", Deployment.load("deployment.json"))
report = verify_bundle(bundle_dict, chain)          # one bundle
reports = verify_bundles(list_of_bundles, chain)    # many, a handful of RPC calls in all
report.verdict, report.to_dict()
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence, Sized
from typing import Any

from anchoring.chain.deployment import ContractSet
from anchoring.chain.records import AnchorRecord
from anchoring.errors import ChainError
from anchoring.scheme.merkle import gc_paused
from anchoring.verify.checks import Evidence, online_checks, parse_offline
from anchoring.verify.context import ChainContext
from anchoring.verify.report import VerificationReport
from anchoring.verify.stack import resolve_stacks
from anchoring.verify.web import WebContext

__all__ = ["verify_bundle", "verify_bundles"]


def verify_bundles(
    bundles: Iterable[Any],
    chain: ChainContext,
    *,
    sources: Sequence[Any] | None = None,
    progress: Callable[[int], object] | None = None,
    web: WebContext | None = None,
) -> list[VerificationReport]:
    """Verify many bundles (dicts, JSON text or ProofBundles) against one chain snapshot.

    ``progress`` (optional) is called with the number of bundles done so far (every 50, and at the end).
    ``web``: how DID documents and status lists are fetched, and the clock (default: a fresh
    :class:`WebContext`, HTTPS/HTTP with short timeouts; ``WebContext.offline()`` fetches nothing).
    """
    web = web or WebContext()
    one = isinstance(bundles, Sized) and len(bundles) <= 1
    # a batch of bundles creates many short-lived objects and no cycles: the GC waits (not worth it for one)
    with contextlib.nullcontext() if one else gc_paused():
        return _verify(bundles, chain, sources, progress, web)


def verify_bundle(bundle: Any, chain: ChainContext, *, web: WebContext | None = None) -> VerificationReport:
    """Verify one bundle (a dict, JSON text or ProofBundle)."""
    return verify_bundles([bundle], chain, web=web)[0]


def _verify(
    bundles: Iterable[Any],
    chain: ChainContext,
    sources: Sequence[Any] | None,
    progress: Callable[[int], object] | None,
    web: WebContext,
) -> list[VerificationReport]:
    evidence: list[Evidence] = []
    for i, b in enumerate(bundles, 1):  # the offline checks are most of the work: report them as they go
        ev = parse_offline(b)
        ev.web = web
        evidence.append(ev)
        if progress is not None and i % 50 == 0:
            progress(i)
    _prefetch(evidence, chain)
    reports = []
    for i, ev in enumerate(evidence):
        online_checks(ev, chain)
        report = ev.report()
        if sources is not None:
            report.source = sources[i]
        reports.append(report)
    resolve_stacks(reports)  # a stack's components are the other bundles of the run
    if progress is not None:
        progress(len(reports))
    return reports


def _prefetch(evidence: list[Evidence], chain: ChainContext) -> None:
    """Ask the chain once per distinct anchor, then once per contract set for all their status changes."""
    keys: dict[tuple[str, str, bytes], None] = {}
    for ev in evidence:
        if ev.bundle is not None:
            for inc in (ae.inclusion for ae in ev.anchors):
                keys[(inc.contract, inc.issuer, inc.root)] = None
    if not keys:
        return
    try:
        _ = chain.head  # connect once; a failure is cached and reported per bundle by the anchored check
    except ChainError:
        return
    per_set: dict[ContractSet, tuple[list[AnchorRecord], list[bytes]]] = {}
    for contract, issuer, root in keys:
        try:
            contracts = chain.contracts_for(contract)
            record = chain.anchor_of(contracts, issuer, root)
        except ChainError:
            continue  # cached, reported per bundle
        if record is not None:
            records, roots = per_set.setdefault(contracts, ([], []))
            records.append(record)
            roots.append(root)
    for contracts, (records, roots) in per_set.items():
        chain.prefetch_statuses(contracts, records, roots)
