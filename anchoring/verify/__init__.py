"""Verifying proof bundles against the chain: a report of named checks, never a bare boolean.

:func:`verify_bundles` / :func:`verify_bundle` run the checks of :mod:`anchoring.verify.checks` against a
:class:`ChainContext` (one endpoint, one deployment, one block); :mod:`anchoring.verify.trust` holds the one
rule for "was the issuer trusted when it anchored", shared with the regulator's audit.
"""

from anchoring.verify.context import ChainContext
from anchoring.verify.report import CHECKS, ERROR, FAIL, INVALID, PASS, VALID, Check, VerificationReport
from anchoring.verify.run import verify_bundle, verify_bundles

__all__ = [
    "CHECKS",
    "ERROR",
    "FAIL",
    "INVALID",
    "PASS",
    "VALID",
    "ChainContext",
    "Check",
    "VerificationReport",
    "verify_bundle",
    "verify_bundles",
]
