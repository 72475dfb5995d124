"""Verifying proof bundles against the chain: a report of named checks, never a bare boolean.

:func:`verify_bundles` / :func:`verify_bundle` run the checks of :mod:`anchoring.verify.checks` against a
:class:`ChainContext` (one endpoint, one deployment, one block); :mod:`anchoring.verify.trust` holds the one
rule for "was the issuer trusted when it anchored", shared with the regulator's audit.
:func:`verify_credential` verifies a plain signed credential (no bundle), looking its anchor up at a node.

Names are imported lazily (as in :mod:`anchoring`): ``anchoring.verify.report`` and the CLI's ``--help`` do not
pay for web3 until a chain is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from anchoring.lazy import lazy_exports

_EXPORTS: dict[str, str | tuple[str, str]] = {
    "ChainContext": "anchoring.verify.context",
    "verify_credential": "anchoring.verify.credential",
    "verify_credentials": "anchoring.verify.credential",
    "verify_documents": "anchoring.verify.credential",
    "CHECKS": "anchoring.verify.report",
    "ERROR": "anchoring.verify.report",
    "FAIL": "anchoring.verify.report",
    "INVALID": "anchoring.verify.report",
    "NOT_ANCHORED": "anchoring.verify.report",
    "PASS": "anchoring.verify.report",
    "VALID": "anchoring.verify.report",
    "Check": "anchoring.verify.report",
    "VerificationReport": "anchoring.verify.report",
    "verify_bundle": "anchoring.verify.run",
    "verify_bundles": "anchoring.verify.run",
    "WebContext": "anchoring.verify.web",
}

__all__ = [
    "CHECKS",
    "ERROR",
    "FAIL",
    "INVALID",
    "NOT_ANCHORED",
    "PASS",
    "VALID",
    "ChainContext",
    "Check",
    "VerificationReport",
    "WebContext",
    "verify_bundle",
    "verify_bundles",
    "verify_credential",
    "verify_credentials",
    "verify_documents",
]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from anchoring.verify.context import ChainContext
    from anchoring.verify.credential import verify_credential, verify_credentials, verify_documents
    from anchoring.verify.report import (
        CHECKS,
        ERROR,
        FAIL,
        INVALID,
        NOT_ANCHORED,
        PASS,
        VALID,
        Check,
        VerificationReport,
    )
    from anchoring.verify.run import verify_bundle, verify_bundles
    from anchoring.verify.web import WebContext
