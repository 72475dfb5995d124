"""Verifying a plain signed credential (no bundle), as a wallet presents it: a JSON VC with Data Integrity
proof(s), a VC-JWT string, or an ``EnvelopedVerifiableCredential``.

The credential's own digest is computed (``jcs``: keccak256(JCS(signed credential)); ``compact``: keccak256 of
the VC-JWT string), its anchor is looked up (a node's public ``GET /v1/proofs/{digest}`` given as ``node``, or a
proof the caller supplies), and then it is verified exactly as a ``credreg-bundle/2`` holding it would be: every
check of the bundle report, signature and key binding included. When no anchor is found the report has the
checks that need none (format, signature, validity_period, status_list) and the verdict
``signed-not-anchored`` ("signed, not anchored") when they pass: not invalid. When the node cannot be asked, an
``anchored`` check says so (``error``).

    from anchoring.verify import ChainContext
    from anchoring.verify.credential import verify_credential
    report = verify_credential(vc_or_jwt, chain, node="https://node.uni.example")
    report.verdict      # valid | invalid | error | signed-not-anchored
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from anchoring.bundle import Inclusion
from anchoring.bundle import v2 as bundle_v2
from anchoring.errors import FormatError, ResolutionError
from anchoring.scheme.digest import DigestRule, digest_of
from anchoring.scheme.encoding import to_hex
from anchoring.scheme.jcs import CanonicalizationError, canonicalize
from anchoring.scheme.strict_json import strict_loads
from anchoring.signing.vcjwt import is_compact_jws, unenvelope
from anchoring.verify.checks import (
    AnchorEvidence,
    Evidence,
    check_inclusion,
    check_integrity,
    check_signature,
    check_status_list,
    check_validity_period,
    credential_summary,
    online_checks,
)
from anchoring.verify.context import ChainContext
from anchoring.verify.nodeproof import inclusion_from_proof
from anchoring.verify.report import ERROR, FAIL, PASS, UNANCHORED_CHECKS, Check, VerificationReport
from anchoring.verify.run import _prefetch, verify_bundles
from anchoring.verify.sdjwt import is_sd_jwt, verify_sd_jwt_presentation
from anchoring.verify.securing import UNSIGNED, secured_form
from anchoring.verify.stack import resolve_stacks
from anchoring.verify.web import WebContext

__all__ = [
    "NOT_ANCHORED_TEXT",
    "credential_digest",
    "inclusion_from_proof",
    "is_plain_credential",
    "verify_credential",
    "verify_credentials",
]

NOT_ANCHORED_TEXT = "signed, not anchored"


def is_plain_credential(obj: Any) -> bool:
    """True for what :func:`verify_credential` reads (and not a bundle): a JSON object without ``format``
    that is a VC or an enveloped one, or a compact JWS string; JSON text of either counts too."""
    if isinstance(obj, (bytes, bytearray)):
        obj = bytes(obj).decode("utf-8", errors="replace")
    if isinstance(obj, str):
        text = obj.strip()
        if is_compact_jws(text):
            return True
        if not text.startswith("{"):
            return False
        try:
            obj = strict_loads(text)
        except ValueError:
            return False
    if not isinstance(obj, dict) or "format" in obj:
        return False
    return unenvelope(obj) is not None or "@context" in obj or "proof" in obj


def verify_documents(
    items: Sequence[Any],
    chain: ChainContext,
    *,
    node: str | None = None,
    proofs: Sequence[Any] | None = None,
    web: WebContext | None = None,
    sources: Sequence[Any] | None = None,
    progress: Callable[[int], object] | None = None,
    audience: str | None = None,
    nonce: str | None = None,
) -> list[VerificationReport]:
    """Verify a mix of proof bundles, plain signed credentials (dicts or JSON / JWT text) and SD-JWT VC
    presentations, in order: bundles through :func:`~anchoring.verify.run.verify_bundles` (one chain snapshot),
    plain credentials through :func:`verify_credential` (anchors looked up at `node`, or ``proofs[i]`` for the
    i-th plain one), SD-JWT VCs through :func:`anchoring.verify.sdjwt.verify_sd_jwt_presentation` (key-binding
    ``aud`` / ``nonce`` checked when given). What ``credreg verify`` runs. ``progress`` reports the bundles done."""
    web = web or WebContext()
    presented = {
        i: verify_sd_jwt_presentation(item, chain, node=node, web=web, audience=audience, nonce=nonce)
        for i, item in enumerate(items)
        if is_sd_jwt(item)
    }
    for i, report in presented.items():
        report.source = sources[i] if sources is not None else report.source
    plain = [i for i, item in enumerate(items) if i not in presented and is_plain_credential(item)]
    done = dict(
        zip(
            plain,
            verify_credentials(
                [items[i] for i in plain],
                chain,
                node=node,
                proofs=proofs,
                web=web,
                sources=[sources[i] for i in plain] if sources is not None else None,
            ),
            strict=True,
        )
    )
    done.update(presented)
    rest_idx = [i for i in range(len(items)) if i not in done]
    rest = (
        verify_bundles(
            [items[i] for i in rest_idx],
            chain,
            sources=[sources[i] for i in rest_idx] if sources is not None else None,
            progress=progress,
            web=web,
        )
        if rest_idx
        else []
    )
    by_index = dict(zip(rest_idx, rest, strict=True))
    by_index.update(done)
    reports = [by_index[i] for i in range(len(items))]
    resolve_stacks(reports)  # components among every kind of document given
    return reports


def _read(credential: Any) -> tuple[dict[str, Any] | str, DigestRule]:
    """The credential as it is hashed (a JSON object, or the compact string) and its digest rule."""
    if isinstance(credential, (bytes, bytearray)):
        credential = bytes(credential).decode("utf-8")
    if isinstance(credential, str):
        text = credential.strip()
        if is_compact_jws(text):
            return text, DigestRule.COMPACT
        credential = strict_loads(text)
    if isinstance(credential, dict):
        token = unenvelope(credential)
        if token is not None:
            return token, DigestRule.COMPACT
        return credential, DigestRule.JCS
    raise FormatError(
        "", "a credential is a JSON object, a VC-JWT string or an EnvelopedVerifiableCredential"
    )


def credential_digest(credential: Any) -> bytes | None:
    """The digest under which a plain signed credential is anchored (as :func:`verify_credential` computes it),
    or None when it is not a readable credential: what a node looks its own proof up by."""
    try:
        held, rule = _read(credential)
        return digest_of(rule, held, canonical=canonicalize(held) if isinstance(held, dict) else None)
    except (CanonicalizationError, FormatError, UnicodeDecodeError, ValueError):
        return None


def verify_credentials(
    credentials: Iterable[Any],
    chain: ChainContext,
    *,
    node: str | None = None,
    proofs: Sequence[Any] | None = None,
    web: WebContext | None = None,
    sources: Sequence[Any] | None = None,
) -> list[VerificationReport]:
    """:func:`verify_credential` for many (one web context and chain snapshot); ``proofs[i]`` (optional)
    is the caller's proof for credential i (None: look it up at `node`)."""
    web = web or WebContext()
    reports = []
    for i, credential in enumerate(credentials):
        proof = proofs[i] if proofs is not None and i < len(proofs) else None
        report = verify_credential(credential, chain, node=node, proof=proof, web=web)
        if sources is not None:
            report.source = sources[i]
        reports.append(report)
    return reports


def verify_credential(
    credential: Any,
    chain: ChainContext | None,
    *,
    node: str | None = None,
    proof: Any = None,
    web: WebContext | None = None,
) -> VerificationReport:
    """Verify a plain signed credential (see the module docstring). ``proof``: the caller's proof (a node's
    ``GET /v1/proofs`` JSON or an :class:`Inclusion`); otherwise it is looked up at ``node``. ``chain`` may be
    None only when no anchor is expected (the anchor checks then report ``error``)."""
    web = web or WebContext()
    summary: dict[str, Any] = {}
    try:
        held, rule = _read(credential)
        canonical = canonicalize(held) if isinstance(held, dict) else None
    except CanonicalizationError as exc:
        return _format_failure(f"the credential cannot be canonicalised: {exc}", exc.field)
    except FormatError as exc:
        return _format_failure(f"not a credential: {exc}", exc.field)
    except (UnicodeDecodeError, ValueError) as exc:
        return _format_failure(f"not JSON and not a VC-JWT: {exc}", "")
    secured = secured_form(held)
    if secured.problem is not None:
        return _format_failure(f"not a readable credential: {secured.problem}", "")
    if secured.form == UNSIGNED:
        return _format_failure(
            "not signed: a plain credential verifies by its proof; an unsigned one only inside its bundle",
            "proof",
        )
    vc = secured.credential or {}
    types = vc.get("type")
    types = types if isinstance(types, list) else [types]
    if "@context" not in vc or "VerifiableCredential" not in types:
        return _format_failure(
            "not a verifiable credential (@context and type VerifiableCredential needed)", "type"
        )
    digest = digest_of(rule, held, canonical=canonical)
    summary.update(
        {"digest": to_hex(digest), "digest_rule": rule.value, "credential": credential_summary(vc)}
    )

    lookup: Check | None = None
    inclusion: Inclusion | None = None
    try:
        if proof is not None:
            inclusion = inclusion_from_proof(proof)
            where = "the supplied proof"
        elif node is not None:
            found = web.node_proof(node, to_hex(digest))
            inclusion = inclusion_from_proof(found) if found is not None else None
            where = f"node {node}"
            if found is not None and inclusion is None:
                summary["node_state"] = found.get("state")
        else:
            where = ""
    except ResolutionError as exc:
        lookup = Check("anchored", ERROR, f"could not ask the node for the anchor: {exc}", {"node": node})
        where = f"node {node}"
    except FormatError as exc:
        lookup = Check("anchored", ERROR, f"the anchor proof is malformed: {exc}", {"field": exc.field})
        where = "the proof"
    summary["anchor_source"] = where or None

    bundle = bundle_v2.ProofBundle(
        credential=held, digest_rule=rule, digest=digest, inclusions=(inclusion,) if inclusion else ()
    )
    ev = Evidence(bundle, bundle=bundle, canonical=canonical, plain=True, web=web, secured=secured)
    ev.add(Check("format", PASS, f"a signed credential ({secured.mechanism})", {"form": secured.form}))
    if inclusion is not None:
        if chain is None:
            lookup = Check(
                "anchored", ERROR, "anchored per the proof, but no chain to check it against (--rpc)"
            )
        else:
            ev.anchors = [AnchorEvidence(inclusion)]
            ev.add(check_integrity(ev))
            ev.add(check_inclusion(ev))
            _prefetch([ev], chain)
            online_checks(ev, chain)
            ev.summary.update(summary)
            return ev.report()
    ev.summary.update(summary)
    ev.summary["anchor"] = (
        f"no anchor found at {where}" if where else "no anchor looked up: no node (--node) and no proof given"
    )
    ev.summary["verdict_text"] = NOT_ANCHORED_TEXT
    checks = [ev.checks["format"]]
    if lookup is not None:
        checks.append(lookup)
    checks.append(check_signature(ev, chain))  # without anchors, these ask no chain
    checks.append(check_validity_period(ev))
    checks.append(check_status_list(ev, chain))
    assert [c.name for c in checks if c.name != "anchored"] == list(UNANCHORED_CHECKS)
    return VerificationReport(checks, ev.summary, anchor_found=False, credential_json=vc)


def _format_failure(reason: str, fld: str) -> VerificationReport:
    return VerificationReport([Check("format", FAIL, reason, {"field": fld})], {})
