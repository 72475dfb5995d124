"""Verifying proof bundles against the chain: a report of named checks, never a bare boolean.

:func:`verify_bundles` / :func:`verify_bundle` run the checks of :mod:`anchoring.verify.checks` against a
:class:`ChainContext` (one endpoint, one deployment, one block); :mod:`anchoring.verify.trust` holds the one
rule for "was the issuer trusted when it anchored", shared with the regulator's audit.
:func:`verify_credential` verifies a plain signed credential (no bundle), looking its anchor up at a node.
"""

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
