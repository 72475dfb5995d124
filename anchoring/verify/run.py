"""Verifying bundles: offline checks, then one chain snapshot for all of them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from anchoring.scheme.merkle import gc_paused
from anchoring.verify.checks import _offline, _online
from anchoring.verify.context import ChainContext
from anchoring.verify.report import VerificationReport


# ---------------------------------------------------------------------------------------------- entry
def verify_bundles(bundles: Iterable[Any], chain: ChainContext, *, sources: Sequence[Any] | None = None,
                   progress: Any = None) -> list[VerificationReport]:
    """Verify many bundles (dicts, JSON text or :class:`ProofBundle`) against one chain snapshot.

    ``progress`` (optional) is called with the number of bundles done so far (every 50, and at the end).
    """
    with gc_paused():
        return _verify_bundles(bundles, chain, sources, progress)


def _verify_bundles(bundles: Iterable[Any], chain: ChainContext, sources: Sequence[Any] | None,
                    progress: Any) -> list[VerificationReport]:
    if progress is None:
        parsed = [_offline(b) for b in bundles]
    else:  # the offline checks are most of the work: report them as they go
        parsed = []
        for i, b in enumerate(bundles, 1):
            parsed.append(_offline(b))
            if i % 50 == 0:
                progress(i)
    roots = []
    seen: set[bytes] = set()
    for p in parsed:
        if p.bundle is not None and p.bundle.root not in seen:
            seen.add(p.bundle.root)
            roots.append(p.bundle.root)
    if roots:
        try:
            _ = chain.head  # connect once; a failure is cached and reported per bundle
        except Exception:  # noqa: BLE001, S110 - reported per bundle by the anchored check
            pass
        else:
            for root in roots:
                try:
                    chain.anchor_of(root)
                except Exception:  # noqa: BLE001, S110 - cached, reported per bundle
                    pass
            chain.prefetch_statuses(roots)
    reports = []
    for i, p in enumerate(parsed):
        report = _online(p, chain)
        if sources is not None:
            report.source = sources[i]
        reports.append(report)
    if progress is not None:
        progress(len(reports))
    return reports


def verify_bundle(bundle: Any, chain: ChainContext) -> VerificationReport:
    """Verify one bundle (a dict, JSON text or :class:`ProofBundle`)."""
    return verify_bundles([bundle], chain)[0]
