"""The checks of a bundle's verification report, one function each, in report order.

``format``          the bundle loads (a published ``credreg-bundle/N`` format, checksummed addresses,
                    canonicalisable credential).
``integrity``       ``keccak256(salt || JCS(credential))`` equals the bundle's digest.
``inclusion``       the proof folds from the digest's leaf to the bundle's root (pure Python).
``anchored``        the bundle's issuer anchored the root in a CredentialAnchor of the deployment: when, in which
                    block, with how many confirmations; the bundle's chainId / contract agree with the chain.
``issuer_trusted``  the anchoring address was an active TI, within its validity window, when the anchoring block
                    was mined (the one rule of :mod:`anchoring.verify.trust`); its current status is reported too.
``not_revoked``     the credential's status under (issuer, root) is valid (suspended / revoked fail, with the
                    reason code and the time of the change).
``issuer_matches``  the credential's stated issuer (``issuer``, ``issuer.id``, or an ELM
                    ``issuer.identifier[*].notation``) equals the DID of the anchoring address's registry entry.
``signature``       every proof on the credential verifies (Data Integrity eddsa-jcs-2022 / eddsa-rdfc-2022, a
                    proof set, or VC-JWT EdDSA / ES256), one is by a key of the stated issuer, and for each
                    anchoring issuer a valid proof's key is registered for that address and valid at the
                    anchoring block (:mod:`anchoring.signing.binding`). Keys come from the bundle's
                    ``verificationMethods``, did:key, or did:web; a did:web document that publishes another key
                    under the same id fails. Unsigned credentials (digest rule ``salted-jcs``, every format-1
                    bundle) pass as *not applicable* (``details.applicable = false``): their anchor is the issuer's
                    evidence, as before signatures existed.
``validity_period`` ``validFrom`` / ``validUntil`` (and VC 1.1 ``issuanceDate`` / ``expirationDate``, a VC-JWT's
                    ``nbf`` / ``exp``) against now: not yet valid or expired is ``fail`` with the dates.
``scope``           the credential's types, EQF levels and ISCED-F fields are within each anchoring issuer's
                    accreditation scope (the registry entry's scope; :mod:`anchoring.verify.scope`): ``fail``
                    naming what is outside.
``joint``           a joint credential (``jointIssuers``): at least ``jointThreshold`` co-issuers anchored it as
                    active trusted issuers, their proofs bound to their keys (:mod:`anchoring.verify.joint`);
                    "issued jointly by A, B, C", or ``fail`` naming each missing co-issuer.
``stack``           a stack credential (``stackOf``): each component named by digest was given in the same run and
                    its own report is valid (anchored, trusted, not revoked); ``details.ects_total`` sums their
                    ECTS (:mod:`anchoring.verify.stack`); a missing or invalid component is a ``fail`` naming it.
``status_list``     each ``BitstringStatusListEntry``: the list credential fetched, its signature verified and
                    its key bound to the anchoring issuer, its ``encodedList`` equal to the hash published on
                    chain, the bit read (set: ``fail``). An unreachable or unpublished list is ``error``, never
                    "not revoked". No entry: passes (nothing to check).

A check that depends on a fact another check could not establish is ``error`` with ``details.skipped``. An
unreachable chain, a chain whose id is not the deployment's, or a bundle for a contract the deployment does not
list is ``error`` (we could not decide), never ``fail`` (we decided: not valid).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from anchoring.bundle import AnyBundle, BundleFormatError, Inclusion
from anchoring.bundle import load as load_bundle
from anchoring.bundle import loads as loads_bundle
from anchoring.bundle import v2 as bundle_v2
from anchoring.bundle.v1 import BUNDLE_FORMAT, Anchor, ProofBundle, well_formed
from anchoring.chain.deployment import ContractSet
from anchoring.chain.records import (
    AnchorRecord,
    CredentialStatus,
    IssuerEntry,
    IssuerStatus,
    KeyRecord,
    StatusChange,
    StatusListRecord,
)
from anchoring.errors import ChainError, FormatError, ResolutionError, WrongChain
from anchoring.reasons import REASON_TEXTS, reason_name, reason_words
from anchoring.scheme.digest import DigestRule, digest_of
from anchoring.scheme.encoding import to_hex
from anchoring.scheme.jcs import MAX_DEPTH, CanonicalizationError, canonicalize, fast_canonicalize
from anchoring.scheme.merkle import verify_proof
from anchoring.scheme.strict_json import strict_loads
from anchoring.signing.binding import check_key_binding
from anchoring.signing.did import DidResolver, did_of
from anchoring.statuslist import check_served_list, entry_is_set
from anchoring.verify.context import ChainContext
from anchoring.verify.report import (
    CHECKS,
    ERROR,
    FAIL,
    PASS,
    Check,
    VerificationReport,
    iso_time,
    plural,
    skipped,
)
from anchoring.verify.securing import (
    DATA_INTEGRITY,
    SD_JWT,
    UNSIGNED,
    VC_JWT,
    Secured,
    SignatureResult,
    secured_form,
    verify_signatures,
)
from anchoring.verify.trust import trusted_at_anchoring
from anchoring.verify.web import WebContext

if TYPE_CHECKING:
    from anchoring.verify.stack import StackSpec

__all__ = [
    "Evidence",
    "check_signature",
    "check_status_list",
    "check_validity_period",
    "online_checks",
    "parse_offline",
    "stated_issuer_ids",
]


def stated_issuer_ids(credential: Any) -> list[str]:
    """The identifiers a credential gives for its issuer: ``issuer`` (string), ``issuer.id``, and for ELM
    ``issuer.identifier[*].notation`` (the DID is often carried there; ``issuer.id`` is a URN)."""
    if not isinstance(credential, dict):
        return []
    issuer = credential.get("issuer")
    if isinstance(issuer, str):
        return [issuer]
    out: list[str] = []
    if isinstance(issuer, dict):
        if isinstance(issuer.get("id"), str):
            out.append(issuer["id"])
        idents = issuer.get("identifier")
        if isinstance(idents, dict):
            idents = [idents]
        if isinstance(idents, list):
            for ident in idents:
                if isinstance(ident, dict) and isinstance(ident.get("notation"), str):
                    out.append(ident["notation"])
                elif isinstance(ident, str):
                    out.append(ident)
    return out


@dataclass
class AnchorEvidence:
    """What the chain says about one inclusion (one anchoring issuer) of the bundle."""

    inclusion: Inclusion
    contracts: ContractSet | None = None
    record: AnchorRecord | None = None
    entry: IssuerEntry | None = None
    entry_known: bool = False  # the registry answered (entry may still be None: not registered)
    history: list[StatusChange] = field(default_factory=list)


@dataclass
class Evidence:
    """What the checks of one bundle establish, shared with the checks that depend on it and the summary."""

    source: Any
    bundle: AnyBundle | None = None
    canonical: bytes | None = None
    checks: dict[str, Check] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    anchors: list[AnchorEvidence] = field(default_factory=list)
    web: WebContext | None = None  # the run's fetcher, DID resolver and clock
    secured: Secured | None = None  # how the credential is secured (read once, by the signature check)
    resolver: DidResolver | None = None  # the run's resolver plus the bundle's verificationMethods
    plain: bool = False  # a plain signed credential (no bundle): its anchor was looked up, not carried
    stack: StackSpec | None = None  # what a stack credential names (the stack check)

    def report(self) -> VerificationReport:
        """The report of every check in :data:`CHECKS` order."""
        return VerificationReport(
            [self.checks[name] for name in CHECKS],
            self.summary,
            stack=self.stack,
            credential_json=_credential_json(self),
        )

    def web_context(self) -> WebContext:
        if self.web is None:
            self.web = WebContext()
        return self.web

    def secured_credential(self) -> Secured:
        if self.secured is None:
            assert self.bundle is not None
            self.secured = secured_form(self.bundle.credential)
        return self.secured

    def key_resolver(self) -> DidResolver:
        """The run's resolver plus the bundle's ``verificationMethods`` (FormatError names a malformed one)."""
        if self.resolver is None:
            methods = (
                self.bundle.verification_methods if isinstance(self.bundle, bundle_v2.ProofBundle) else ()
            )
            self.resolver = self.web_context().resolver_for(methods)
        return self.resolver

    def add(self, check: Check) -> None:
        self.checks[check.name] = check

    def passed(self, name: str) -> bool:
        found = self.checks.get(name)
        return found is not None and found.status == PASS


def _chain_error(name: str, exc: ChainError, chain: ChainContext) -> Check:
    return Check(
        name, ERROR, f"could not ask the chain: {chain.describe(exc)}", {"error": type(exc).__name__}
    )


_RANK = {PASS: 0, ERROR: 1, FAIL: 2}


def combine(name: str, parts: list[tuple[str, Check]]) -> Check:
    """One check from the same check of each inclusion: the worst status, every issuer's reason."""
    if len(parts) == 1:
        return parts[0][1]
    status = max((c.status for _, c in parts), key=_RANK.__getitem__)
    shown = [(who, c) for who, c in parts if c.status == status]
    reason = "; ".join(f"{who}: {c.reason}" for who, c in shown)
    return Check(
        name,
        status,
        reason,
        {
            "anchors": [
                {"issuer": who, "status": c.status, "reason": c.reason, **c.details} for who, c in parts
            ]
        },
    )


# ---------------------------------------------------------------------------------------------- offline
_FAST_DEPTH = MAX_DEPTH - 2


def _fast_load(obj: Any) -> tuple[ProofBundle, bytes] | None:
    """The common case of loading a ``credreg-bundle/1`` (same checks, through ``well_formed``) without its deep
    copy of the credential, keeping the canonical bytes for the integrity check. None: run the full loader,
    which names the bad field."""
    if not well_formed(obj):
        return None
    cred, a, proof = obj["credential"], obj["anchor"], obj["proof"]
    canonical = fast_canonicalize(cred, max_depth=_FAST_DEPTH)
    if canonical is None:
        try:
            canonical = canonicalize(cred)
        except CanonicalizationError:
            return None
    fh = bytes.fromhex
    bundle = ProofBundle(
        credential=cred,
        salt=fh(obj["salt"][2:]),
        digest=fh(obj["digest"][2:]),
        proof=tuple(fh(p[2:]) for p in proof),
        root=fh(obj["root"][2:]),
        anchor=Anchor(
            chain_id=a["chainId"],
            contract=a["contract"],
            tx_hash=fh(a["txHash"][2:]),
            block_number=a["blockNumber"],
            issuer=a["issuer"],
            anchored_at=a["anchoredAt"],
        ),
        format=BUNDLE_FORMAT,
    )
    return bundle, canonical


def check_format(ev: Evidence) -> Check:
    obj = ev.source
    try:
        if isinstance(obj, (ProofBundle, bundle_v2.ProofBundle)):
            bundle: AnyBundle = obj
        else:
            if isinstance(obj, (str, bytes, bytearray)):
                try:  # strict as bundle.loads: no duplicate keys, no NaN / Infinity
                    obj = strict_loads(obj)
                except ValueError:
                    pass  # loads() below reports it precisely
            fast = _fast_load(obj) if type(obj) is dict else None
            if fast is not None:
                bundle, ev.canonical = fast
            elif isinstance(obj, (str, bytes, bytearray)):
                bundle = loads_bundle(
                    bytes(obj) if isinstance(obj, bytearray) else obj, check_integrity=False
                )
            else:
                bundle = load_bundle(obj, check_integrity=False)
    except BundleFormatError as exc:
        return Check("format", FAIL, f"not a valid proof bundle: {exc}", {"field": exc.field})
    except FormatError as exc:  # e.g. "0x..\n" passes the schema's `$` but not from_hex
        return Check("format", FAIL, f"not a valid proof bundle: {exc}", {"field": exc.field or ""})
    ev.bundle = bundle
    ev.anchors = [AnchorEvidence(inc) for inc in bundle.inclusions]
    return Check("format", PASS, f"a well-formed {bundle.format} bundle", {"format": bundle.format})


def check_integrity(ev: Evidence) -> Check:
    b = ev.bundle
    if b is None:
        return skipped("integrity", ["format"])
    rule = b.digest_rule
    recomputed = digest_of(rule, b.credential, b.salt, ev.canonical)
    if recomputed != b.digest and ev.canonical is not None:  # never let the fast path decide a failure
        recomputed = digest_of(rule, b.credential, b.salt)
    what = _RULE_TEXT[rule]
    if recomputed == b.digest:
        return Check(
            "integrity",
            PASS,
            f"{what} equals the digest",
            {"digest": to_hex(recomputed), "digest_rule": rule.value},
        )
    return Check(
        "integrity",
        FAIL,
        f"{what} does not equal the bundle's digest: the credential"
        f"{', the salt' if rule == DigestRule.SALTED_JCS else ''} or the digest was "
        "altered",
        {"expected": to_hex(b.digest), "recomputed": to_hex(recomputed), "digest_rule": rule.value},
    )


_RULE_TEXT = {
    DigestRule.SALTED_JCS: "keccak256(salt || JCS(credential))",
    DigestRule.JCS: "keccak256(JCS(credential))",
    DigestRule.COMPACT: "keccak256(credential as issued)",
}


def check_inclusion(ev: Evidence) -> Check:
    b = ev.bundle
    if b is None:
        return skipped("inclusion", ["format"])
    parts = []
    for inc in (ae.inclusion for ae in ev.anchors):  # the bundle's inclusions, built once by check_format
        if verify_proof(inc.root, b.digest, inc.proof):
            parts.append(
                (
                    inc.issuer,
                    Check(
                        "inclusion",
                        PASS,
                        f"the proof ({plural(len(inc.proof), 'node')}) folds "
                        "from the digest's leaf to the root",
                        {"root": to_hex(inc.root), "proof_length": len(inc.proof)},
                    ),
                )
            )
        else:
            parts.append(
                (
                    inc.issuer,
                    Check(
                        "inclusion",
                        FAIL,
                        "the proof does not lead from the digest's leaf to the root",
                        {"root": to_hex(inc.root)},
                    ),
                )
            )
    return combine("inclusion", parts)


def parse_offline(source: Any) -> Evidence:
    """format, integrity, inclusion: no chain needed."""
    ev = Evidence(source)
    ev.add(check_format(ev))
    if ev.bundle is not None:
        ev.add(check_integrity(ev))
        ev.add(check_inclusion(ev))
    return ev


# ---------------------------------------------------------------------------------------------- online
def _anchored(ae: AnchorEvidence, chain: ChainContext) -> Check:
    inc = ae.inclusion
    try:
        chain_id, head = chain.chain_id, chain.head
        if inc.chain_id != chain_id:
            raise WrongChain(
                f"the bundle was anchored on chain {inc.chain_id}; the verifier is connected to chain "
                f"{chain_id}: use an RPC endpoint and deployment for that chain"
            )
        ae.contracts = chain.contracts_for(inc.contract)
        onchain_version = chain.check_contract_versions(ae.contracts)[0]
        if inc.contract_version is not None and inc.contract_version != ae.contracts.version:
            raise WrongChain(
                f"the bundle says CredentialAnchor {inc.contract} is version {inc.contract_version}, "
                f"the verifier's deployment file says {ae.contracts.version}"
            )
        ae.record = chain.anchor_of(ae.contracts, inc.issuer, inc.root)
    except ChainError as exc:
        ae.record = None
        return _chain_error("anchored", exc, chain)
    record = ae.record
    if record is None:
        return Check(
            "anchored",
            FAIL,
            f"{inc.issuer} never anchored this root in CredentialAnchor "
            f"{ae.contracts.credential_anchor} on chain {chain_id}",
            {"root": to_hex(inc.root), "issuer": inc.issuer},
        )
    confirmations = head - record.block_number + 1
    details: dict[str, Any] = {
        "issuer": record.issuer,
        "anchored_at": record.anchored_at,
        "anchored_at_iso": iso_time(record.anchored_at),
        "block": record.block_number,
        "head": head,
        "confirmations": confirmations,
        "contract_version": ae.contracts.version,
        "onchain_version": onchain_version,
    }
    if record.leaf_count is not None:
        details["leaf_count"] = record.leaf_count
    notes = []
    if inc.block_number != record.block_number:
        notes.append(f"bundle says block {inc.block_number}")
    if inc.anchored_at != record.anchored_at:
        notes.append(f"bundle says time {inc.anchored_at}")
    if notes:
        details["bundle_differs"] = notes  # chain values are authoritative; reported, not failed
    if confirmations < chain.min_confirmations:
        return Check(
            "anchored",
            ERROR,
            f"anchored in block {record.block_number} but only {confirmations} of "
            f"{chain.min_confirmations} confirmations yet: try again later",
            details,
        )
    return Check(
        "anchored",
        PASS,
        f"anchored by {record.issuer} at {iso_time(record.anchored_at)} in block "
        f"{record.block_number} ({plural(confirmations, 'confirmation')})",
        details,
    )


def check_anchored(ev: Evidence, chain: ChainContext) -> Check:
    if ev.bundle is None:
        return skipped("anchored", ["format"])
    check = combine("anchored", [(ae.inclusion.issuer, _anchored(ae, chain)) for ae in ev.anchors])
    first = ev.anchors[0].record
    if first is not None:
        ev.summary.update(
            {
                "issuer_address": first.issuer,
                "anchored_at": first.anchored_at,
                "anchored_at_iso": iso_time(first.anchored_at),
                "block": first.block_number,
                "confirmations": chain.head - first.block_number + 1,
            }
        )
    return check


def _issuer_trusted(ae: AnchorEvidence, chain: ChainContext) -> Check:
    record, contracts = ae.record, ae.contracts
    if record is None or contracts is None:
        return skipped("issuer_trusted", ["anchored"])
    try:
        ae.entry = chain.issuer(contracts, record.issuer)
        ae.history = chain.history(contracts, record.issuer) if ae.entry is not None else []
    except ChainError as exc:
        return _chain_error("issuer_trusted", exc, chain)
    ae.entry_known = True
    entry = ae.entry
    details: dict[str, Any] = {
        "issuer": record.issuer,
        "at": record.anchored_at,
        "at_iso": iso_time(record.anchored_at),
        "registry": contracts.issuer_registry,
    }
    if entry is None:
        return Check(
            "issuer_trusted",
            FAIL,
            f"{record.issuer} is not in the IssuerRegistry {contracts.issuer_registry}",
            details,
        )
    details.update(
        {
            "did": entry.did,
            "kind": entry.kind.label,
            "current_status": entry.status.label,
            "accreditor": entry.accreditor,
        }
    )
    verdict = trusted_at_anchoring(entry, ae.history, record)
    if not verdict.trusted:
        details["status_at_anchoring"] = verdict.status.label
        return Check(
            "issuer_trusted",
            FAIL,
            f"{entry.did} ({record.issuer}) was not an active trusted issuer at "
            f"{iso_time(record.anchored_at)} (block {record.block_number}): "
            f"{verdict.reason}",
            details,
        )
    now = "" if entry.status == IssuerStatus.ACTIVE else f"; its current status is {entry.status.label}"
    return Check(
        "issuer_trusted", PASS, f"{entry.did} was an active trusted issuer at anchoring time{now}", details
    )


def check_issuer_trusted(ev: Evidence, chain: ChainContext) -> Check:
    check = combine(
        "issuer_trusted", [(ae.inclusion.issuer, _issuer_trusted(ae, chain)) for ae in ev.anchors]
    )
    first = ev.anchors[0].entry if ev.anchors else None
    if first is not None:
        ev.summary.update({"issuer_did": first.did, "issuer_status": first.status.label})
    return check


def _not_revoked(ev: Evidence, ae: AnchorEvidence, chain: ChainContext) -> Check:
    b, record, contracts = ev.bundle, ae.record, ae.contracts
    deps = [n for n in ("inclusion",) if not ev.passed(n)] + ([] if record is not None else ["anchored"])
    if deps or b is None or record is None or contracts is None:
        return skipped("not_revoked", deps or ["anchored"])
    try:
        st = chain.status_of(contracts, record.issuer, ae.inclusion.root, b.digest)
    except ChainError as exc:
        return _chain_error("not_revoked", exc, chain)
    if st.status == CredentialStatus.VALID:
        detail: dict[str, Any] = {"status": st.status.label}
        if st.block:
            detail["reinstated_block"] = st.block
        return Check("not_revoked", PASS, "not revoked or suspended", detail)
    detail = {
        "status": st.status.label,
        "reason_code": st.reason,
        "reason": reason_name(st.reason),
        "reason_text": REASON_TEXTS.get(st.reason),
        "changed_at": st.changed_at,
        "changed_at_iso": iso_time(st.changed_at),
        "block": st.block,
    }
    return Check(
        "not_revoked",
        FAIL,
        f"{st.status.label} by the issuer at {iso_time(st.changed_at)} "
        f"(block {st.block}), reason: {reason_words(st.reason)}",
        detail,
    )


def check_not_revoked(ev: Evidence, chain: ChainContext) -> Check:
    check = combine("not_revoked", [(ae.inclusion.issuer, _not_revoked(ev, ae, chain)) for ae in ev.anchors])
    status = check.details.get("status")
    if isinstance(status, str):
        ev.summary["status"] = status
    elif "anchors" in check.details:
        worst = [
            a.get("status") for a in check.details["anchors"] if a.get("status") in ("revoked", "suspended")
        ]
        ev.summary["status"] = worst[0] if worst else "valid"
    return check


def _issuer_matches(ev: Evidence, ae: AnchorEvidence, stated: list[str]) -> Check:
    deps = [] if ev.passed("integrity") else ["integrity"]
    if ae.record is None:
        deps.append("anchored")
    elif not ae.entry_known:
        deps.append("issuer_trusted")
    if deps:
        return skipped("issuer_matches", deps)
    entry = ae.entry
    if entry is None:
        return Check(
            "issuer_matches",
            FAIL,
            f"the anchoring address {ae.inclusion.issuer} has no registry entry, so no DID to compare with",
            {"stated": stated},
        )
    details = {"stated": stated, "registry_did": entry.did}
    if entry.did in stated:
        return Check(
            "issuer_matches",
            PASS,
            f"the credential's issuer {entry.did} is the registry DID of the anchoring address",
            details,
        )
    if not stated:
        return Check(
            "issuer_matches",
            FAIL,
            "the credential names no issuer (neither `issuer` nor `issuer.id`)",
            details,
        )
    return Check(
        "issuer_matches",
        FAIL,
        f"the credential says it was issued by {stated[0]}, but the anchoring "
        f"address is registered as {entry.did}",
        details,
    )


def _co_issuers(credential: Any, stated: list[str]) -> list[str]:
    """The other co-issuers of a joint credential: each one's anchor matches the credential's issuers too."""
    from anchoring.verify.joint import joint_spec

    try:
        spec = joint_spec(credential)
    except FormatError:
        return []  # the joint check reports it
    return [d for d in spec.issuers if d not in stated] if spec else []


def _credential_json(ev: Evidence) -> dict[str, Any] | None:
    """The credential's JSON: the bundle's object, or a VC-JWT's payload (not yet verified: the signature
    check says whether to believe it)."""
    if ev.bundle is None:
        return None
    if isinstance(ev.bundle.credential, dict) and "proof" not in ev.bundle.credential:
        return ev.bundle.credential  # unsigned: no need to classify
    return ev.secured_credential().credential


def check_issuer_matches(ev: Evidence, chain: ChainContext) -> Check:
    credential = _credential_json(ev) if ev.bundle is not None else None
    stated = stated_issuer_ids(credential) if ev.bundle is not None else []
    stated += _co_issuers(credential, stated)
    return combine(
        "issuer_matches", [(ae.inclusion.issuer, _issuer_matches(ev, ae, stated)) for ae in ev.anchors]
    )


def check_scope(ev: Evidence, chain: ChainContext) -> Check:
    """``scope``: the credential's types, EQF levels and ISCED-F fields are within the accreditation scope of each
    anchoring issuer's registry entry (:mod:`anchoring.verify.scope`); outside is ``fail``, naming what."""
    from anchoring.verify.scope import compare

    credential = _credential_json(ev) if ev.bundle is not None else None
    # the integrity check's canonical bytes are this credential's when it is the bundle's own object
    canonical = ev.canonical if ev.bundle is not None and credential is ev.bundle.credential else None
    parts: list[tuple[str, Check]] = []
    for ae in ev.anchors:
        if ae.record is None or not ae.entry_known:
            parts.append((ae.inclusion.issuer, skipped("scope", ["issuer_trusted"])))
            continue
        if ae.entry is None or credential is None:
            reason = "no registry entry, so no scope" if ae.entry is None else "no readable credential"
            parts.append((ae.inclusion.issuer, Check("scope", FAIL, reason, {})))
            continue
        result = compare(ae.entry.scope, credential, canonical)
        details = {**result.details, "scope": ae.entry.scope, "issuer": ae.inclusion.issuer}
        parts.append(
            (ae.inclusion.issuer, Check("scope", PASS if result.within else FAIL, result.reason, details))
        )
    if not parts:
        return skipped("scope", ["anchored"])
    return combine("scope", parts)


def check_joint(ev: Evidence, chain: ChainContext) -> Check:
    """``joint``: a joint credential (``jointIssuers``, :mod:`anchoring.verify.joint`) was anchored by at least
    ``jointThreshold`` of its co-issuers, each an active trusted issuer at its anchoring, and every valid proof's key
    is bound to its anchoring issuer (the ``signature`` check). Reports "issued jointly by A, B, C" with each
    co-issuer's trust; a co-issuer missing below the threshold is a ``fail`` naming it."""
    from anchoring.verify.joint import joint_spec

    credential = _credential_json(ev) if ev.bundle is not None else None
    try:
        spec = joint_spec(credential)
    except FormatError as exc:
        return Check("joint", FAIL, f"malformed joint credential: {exc}", {"field": exc.field})
    if spec is None:
        return Check("joint", PASS, "not a joint credential", {"applicable": False})
    if not ev.passed("signature"):
        return skipped("joint", ["signature"])
    by_did: dict[str, dict[str, Any]] = {}
    for ae in ev.anchors:
        if ae.record is None or ae.entry is None or ae.entry.did not in spec.issuers:
            continue
        verdict = trusted_at_anchoring(ae.entry, ae.history, ae.record)
        seen = by_did.setdefault(ae.entry.did, {"did": ae.entry.did, "address": ae.record.issuer})
        if verdict.trusted or not seen.get("trusted_at_anchoring"):
            seen.update(
                {
                    "trusted_at_anchoring": verdict.trusted,
                    "anchored_at_iso": iso_time(ae.record.anchored_at),
                    "block": ae.record.block_number,
                    "current_status": ae.entry.status.label,
                }
            )
    rows = []
    for did in spec.issuers:
        row = by_did.get(did, {"did": did, "address": None, "trusted_at_anchoring": False})
        row["took_part"] = bool(row.get("trusted_at_anchoring"))
        rows.append(row)
    took_part = [r for r in rows if r["took_part"]]
    missing = [r["did"] for r in rows if not r["took_part"]]
    names = ", ".join(spec.issuers)
    details = {"co_issuers": rows, "threshold": spec.threshold, "of": len(spec.issuers)}

    def trust(r: dict[str, Any]) -> str:
        if r["address"] is None:
            return f"{r['did']}: no anchor by it"
        if not r["trusted_at_anchoring"]:
            return f"{r['did']}: anchored while not an active trusted issuer"
        now = "" if r["current_status"] == "active" else f", now {r['current_status']}"
        return f"{r['did']}: trusted at anchoring{now}"

    if len(took_part) < spec.threshold:
        return Check(
            "joint",
            FAIL,
            f"joint credential of {names}: {len(took_part)} of the {spec.threshold} co-issuers needed took part; "
            f"missing co-issuer {', '.join(missing)} ({'; '.join(trust(r) for r in rows if not r['took_part'])})",
            {**details, "missing": missing},
        )
    quorum = (
        "" if spec.threshold == len(spec.issuers) else f" ({spec.threshold} of {len(spec.issuers)} needed)"
    )
    return Check(
        "joint",
        PASS,
        f"issued jointly by {', '.join(r['did'] for r in took_part)}{quorum}: "
        + "; ".join(trust(r) for r in rows),
        {**details, "missing": missing},
    )


def check_stack(ev: Evidence, chain: ChainContext) -> Check:
    """``stack``: a stack credential (``stackOf``, :mod:`anchoring.verify.stack`). Decided here as if no component
    were given (each one ``missing``); :func:`anchoring.verify.stack.resolve_stacks` decides it again from the
    other reports of the run. Not a stack: passes as not applicable."""
    from anchoring.verify.stack import ects_of, stack_check, stack_spec

    credential = _credential_json(ev) if ev.bundle is not None else None
    try:
        spec = stack_spec(credential)
    except FormatError as exc:
        return Check("stack", FAIL, f"malformed stack credential: {exc}", {"field": exc.field})
    if spec is None:
        return Check("stack", PASS, "not a stack credential", {"applicable": False})
    ev.stack = spec
    own = to_hex(ev.bundle.digest) if ev.bundle is not None else None
    return stack_check(spec, own, ects_of(credential), {})


# ---------------------------------------------------------------------------------------------- signature
def _key_lookup(chain: ChainContext, contracts: ContractSet) -> Callable[[str, bytes], KeyRecord | None]:
    def lookup(account: str, key_hash: bytes) -> KeyRecord | None:
        return chain.verification_key(contracts, account, key_hash)

    return lookup


def _binding_part(
    ev: Evidence, ae: AnchorEvidence, chain: ChainContext, valid: list[SignatureResult]
) -> tuple[str, Check]:
    who = ae.inclusion.issuer
    record, contracts = ae.record, ae.contracts
    if record is None or contracts is None:
        return who, skipped("signature", ["anchored"])
    bindings = []
    for result in valid:
        assert result.method is not None
        try:
            binding = check_key_binding(
                _key_lookup(chain, contracts),
                record.issuer,
                result.method.public_key,
                record.block_number,
            )
        except ChainError as exc:
            return who, _chain_error("signature", exc, chain)
        if binding.bound:
            details: dict[str, Any] = {
                "proof": result.label,
                "verification_method": result.verification_method,
            }
            details.update(binding.details())
            return who, Check(
                "signature",
                PASS,
                f"{result.reason}; {binding.reason}, valid at anchoring block {record.block_number}",
                details,
            )
        bindings.append((result, binding))
    reasons = "; ".join(b.reason for _, b in bindings)
    return who, Check(
        "signature",
        FAIL,
        f"the signature verifies, but its key is not bound to the anchoring issuer at block "
        f"{record.block_number}: {reasons}",
        {"bindings": [{"proof": r.label, **b.details()} for r, b in bindings]},
    )


def _did_web_conflicts(ev: Evidence, valid: list[SignatureResult]) -> tuple[list[str], list[str]]:
    """The extra did:web check of keys that came from elsewhere (a bundle): (conflicts, notes)."""
    conflicts: list[str] = []
    notes: list[str] = []
    resolver = ev.key_resolver()
    if not resolver.online:
        return conflicts, notes
    for result in valid:
        vm = result.method
        if vm is None or not vm.id.startswith("did:web:") or vm.source == "did:web":
            continue
        try:
            published = resolver.resolve_document_method(vm.id)
        except ResolutionError as exc:
            notes.append(f"{did_of(vm.id)} not resolved ({exc.reason}): the chain binding stands alone")
            continue
        except FormatError:
            notes.append(f"{vm.id} is no longer in its DID document (the chain binding decides)")
            continue
        if published.public_key != vm.public_key:
            conflicts.append(
                f"{did_of(vm.id)}'s DID document publishes another key under {vm.id} "
                f"({published.public_key.multibase}, the proof's is {vm.public_key.multibase})"
            )
        else:
            notes.append(f"{vm.id} matches its did:web document")
    return conflicts, notes


def check_signature(ev: Evidence, chain: ChainContext | None) -> Check:
    """The credential's proof(s) verify and the key is bound to the anchoring issuer at anchoring."""
    b = ev.bundle
    if b is None:
        return skipped("signature", ["format"])
    secured = ev.secured_credential()
    details: dict[str, Any] = {"form": secured.form, "digest_rule": b.digest_rule.value}
    ev.summary["secured"] = secured.mechanism
    if secured.form == UNSIGNED and secured.problem is None:
        if b.digest_rule == DigestRule.SALTED_JCS:
            details.update({"signed": False, "applicable": False})
            return Check(
                "signature",
                PASS,
                "not applicable: unsigned credential (digest rule salted-jcs); the anchor is the issuer's evidence",
                details,
            )
        return Check(
            "signature",
            FAIL,
            f"digest rule {b.digest_rule.value} is for signed credentials, but the credential carries no proof",
            details,
        )
    if secured.problem is not None:
        return Check("signature", FAIL, f"the credential cannot be read: {secured.problem}", details)
    if secured.form == SD_JWT:
        return Check(
            "signature", ERROR, "not checked: SD-JWT credentials are not verified by this verifier", details
        )
    try:
        resolver = ev.key_resolver()
    except FormatError as exc:
        return Check(
            "signature",
            FAIL,
            f"bad verification method in the bundle: {exc}",
            {**details, "field": exc.field},
        )
    web = ev.web_context()
    results = verify_signatures(secured, resolver, web.contexts)
    details["proofs"] = [r.details() for r in results]
    details["signed"] = True
    if not results:
        return Check("signature", FAIL, "the credential has no proof this verifier reads", details)
    bad = [r for r in results if not r.valid and not r.error]
    if bad:
        return Check("signature", FAIL, "; ".join(f"{r.label}: {r.reason}" for r in bad), details)
    undecided = [r for r in results if r.error]
    if undecided:
        return Check("signature", ERROR, "; ".join(f"{r.label}: {r.reason}" for r in undecided), details)
    stated = stated_issuer_ids(secured.credential)
    controllers = [r.method.controller for r in results if r.method is not None]
    if not set(controllers) & set(stated):
        return Check(
            "signature",
            FAIL,
            f"signed by a key of {', '.join(sorted(set(controllers)))}, not of the credential's issuer "
            f"{stated[0] if stated else '(none stated)'}",
            details,
        )
    conflicts, notes = _did_web_conflicts(ev, results)
    if notes:
        details["did_web"] = notes
    if conflicts:
        return Check("signature", FAIL, "; ".join(conflicts), details)
    what = "; ".join(r.reason for r in results)
    if b.digest_rule == DigestRule.SALTED_JCS:
        return Check(
            "signature",
            PASS,
            f"{what} (digest rule salted-jcs: key binding not part of this bundle's scheme)",
            details,
        )
    if not ev.anchors:
        return Check("signature", PASS, f"{what}; not bound to a registry issuer: no anchor found", details)
    assert chain is not None, "anchors are checked against a chain"
    check = combine("signature", [_binding_part(ev, ae, chain, results) for ae in ev.anchors])
    check.details = {**details, **check.details}
    return check


# ---------------------------------------------------------------------------------------------- validity
def _parse_time(value: Any, name: str) -> datetime:
    """A dateTimeStamp (timezone required) or, for JWT claims, NumericDate seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and name in ("nbf", "exp"):
        return datetime.fromtimestamp(value, tz=UTC)
    if not isinstance(value, str):
        raise FormatError(name, f"{value!r:.60} is not a date-time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise FormatError(name, f"{value!r:.60} is not an XML Schema dateTimeStamp") from None
    if parsed.tzinfo is None:
        raise FormatError(name, f"{value!r:.60} has no time zone (a dateTimeStamp needs one: Z or +hh:mm)")
    return parsed


@lru_cache(maxsize=1024)  # four per credential, mostly the same few instants (now, a batch's validFrom)
def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_validity_period(ev: Evidence, chain: ChainContext | None = None) -> Check:
    """validFrom / validUntil (VC 2.0), issuanceDate / expirationDate (VC 1.1), nbf / exp (VC-JWT) vs now."""
    b = ev.bundle
    if b is None:
        return skipped("validity_period", ["format"])
    secured = ev.secured_credential()
    cred = secured.credential
    if cred is None:
        return Check(
            "validity_period", ERROR, f"not checked: the credential cannot be read ({secured.problem})"
        )
    now = datetime.fromtimestamp(ev.web_context().timestamp(), tz=UTC)
    starts: list[tuple[str, datetime]] = []
    ends: list[tuple[str, datetime]] = []
    try:
        for name, bucket in (
            ("validFrom", starts),
            ("issuanceDate", starts),
            ("nbf", starts),
            ("validUntil", ends),
            ("expirationDate", ends),
            ("exp", ends),
        ):
            if name in cred and (name not in ("nbf", "exp") or secured.form == VC_JWT):
                bucket.append((name, _parse_time(cred[name], name)))
    except FormatError as exc:
        return Check("validity_period", FAIL, f"{exc.field}: {exc.reason}", {"field": exc.field})
    details: dict[str, Any] = {"now": _iso(now)}
    details.update({name: _iso(t) for name, t in starts + ends})
    start = max(starts, key=lambda p: p[1]) if starts else None
    end = min(ends, key=lambda p: p[1]) if ends else None
    if start is not None and end is not None and end[1] < start[1]:
        return Check(
            "validity_period", FAIL, f"{end[0]} {_iso(end[1])} is before {start[0]} {_iso(start[1])}", details
        )
    if start is not None and now < start[1]:
        return Check(
            "validity_period",
            FAIL,
            f"not yet valid: {start[0]} is {_iso(start[1])}, now is {_iso(now)}",
            details,
        )
    if end is not None and now >= end[1]:
        return Check(
            "validity_period", FAIL, f"expired: {end[0]} was {_iso(end[1])}, now is {_iso(now)}", details
        )
    if start is None and end is None:
        return Check("validity_period", PASS, "no validity period stated", details)
    span = " ".join(
        part
        for part in (
            f"from {_iso(start[1])}" if start else "",
            f"until {_iso(end[1])}" if end else "(no end)",
        )
        if part
    )
    return Check("validity_period", PASS, f"valid now ({_iso(now)}): {span}", details)


# ---------------------------------------------------------------------------------------------- status list
STATUS_ENTRY = "BitstringStatusListEntry"


class _ChainLists:
    """The chain context as a :class:`~anchoring.statuslist.StatusListSource` for one contract set."""

    def __init__(self, chain: ChainContext, contracts: ContractSet) -> None:
        self.chain, self.contracts = chain, contracts

    def status_list_of(self, issuer: str, list_id: bytes) -> StatusListRecord | None:
        return self.chain.status_list_of(self.contracts, issuer, list_id)


def _status_entries(cred: dict[str, Any]) -> list[Any]:
    status = cred.get("credentialStatus")
    if status is None:
        return []
    return list(status) if isinstance(status, list) else [status]


def _list_signature(
    ev: Evidence, chain: ChainContext | None, url: str, served: dict[str, Any] | str
) -> tuple[str, str, dict[str, Any] | None]:
    """(status, reason, the list credential's JSON) of a served list's signature and key binding."""
    secured = secured_form(served)
    if secured.form == UNSIGNED or secured.credential is None:
        return FAIL, f"the status list {url} is not a signed credential", None
    if secured.form not in (DATA_INTEGRITY, VC_JWT):
        return (
            ERROR,
            f"the status list {url} is secured as {secured.form}, which this verifier does not read",
            None,
        )
    results = verify_signatures(secured, ev.key_resolver(), ev.web_context().contexts)
    bad = [r for r in results if not r.valid and not r.error]
    if bad or not results:
        return (
            FAIL,
            f"the status list {url}'s signature is invalid: " + "; ".join(r.reason for r in bad),
            None,
        )
    undecided = [r for r in results if r.error]
    if undecided:
        return ERROR, f"the status list {url}'s signature could not be checked: {undecided[0].reason}", None
    lst = secured.credential
    stated = stated_issuer_ids(ev.secured_credential().credential)
    list_issuer = stated_issuer_ids(lst)
    if stated and not set(stated) & set(list_issuer):
        return (
            FAIL,
            f"the status list {url} is issued by {list_issuer[0] if list_issuer else '(none)'}, not by the credential's issuer {stated[0]}",
            None,
        )
    for ae in ev.anchors:
        if ae.contracts is None or ae.record is None or chain is None:
            continue
        try:
            head = chain.head
            for r in results:
                assert r.method is not None
                binding = check_key_binding(
                    _key_lookup(chain, ae.contracts),
                    ae.record.issuer,
                    r.method.public_key,
                    head,
                )
                if binding.bound:
                    return PASS, f"signed by {r.verification_method}, registered for {ae.record.issuer}", lst
        except ChainError as exc:
            return ERROR, f"could not ask the chain: {chain.describe(exc)}", None
        return FAIL, f"the status list {url} is signed by a key not registered for {ae.record.issuer}", None
    return PASS, f"signed by {results[0].verification_method}", lst


def _one_entry(
    ev: Evidence, chain: ChainContext | None, i: int, entry: Any
) -> tuple[str, str, dict[str, Any]]:
    where = f"credentialStatus[{i}]"
    if not isinstance(entry, dict):
        return FAIL, f"{where} is not an object", {}
    kind = entry.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if STATUS_ENTRY not in kinds:
        return (
            ERROR,
            f"{where}: status type {kind!r} is not checked by this verifier (BitstringStatusListEntry)",
            {},
        )
    url, purpose = entry.get("statusListCredential"), entry.get("statusPurpose")
    info: dict[str, Any] = {
        "entry": where,
        "list": url,
        "purpose": purpose,
        "index": entry.get("statusListIndex"),
    }
    if not isinstance(url, str) or not url:
        return FAIL, f"{where} names no statusListCredential", info
    if entry.get("statusSize", 1) not in (1, "1"):
        return ERROR, f"{where}: statusSize {entry.get('statusSize')} is not supported (1 bit)", info
    try:
        served = ev.web_context().status_list(url)
    except ResolutionError as exc:
        return ERROR, f"status list {url} unreachable ({exc.reason}): revocation by list not checked", info
    except FormatError as exc:
        return FAIL, f"status list {url}: {exc.reason}", info
    status, reason, lst = _list_signature(ev, chain, url, served)
    if status != PASS or lst is None:
        return status, reason, info
    published = []
    for ae in ev.anchors:
        if ae.contracts is None or ae.record is None or chain is None:
            continue
        try:
            listed = check_served_list(lst, _ChainLists(chain, ae.contracts), ae.record.issuer)
        except ChainError as exc:
            return ERROR, f"could not ask the chain: {chain.describe(exc)}", info
        except ValueError as exc:
            return FAIL, f"status list {url}: {exc}", info
        info.update(
            {
                "served_hash": listed.served_hash,
                "onchain_hash": listed.onchain_hash,
                "list_version": listed.version,
            }
        )
        if not listed.ok:
            return ERROR, f"status list {url}: {listed.reason}: revocation by list not decided", info
        published.append(listed.reason)
    try:
        is_set = entry_is_set(lst, entry)
    except (ValueError, IndexError) as exc:
        return FAIL, f"{where}: {exc}", info
    chain_note = f", {published[0]}" if published else ", not checked on chain (no anchor)"
    info["set"] = is_set
    if is_set and purpose in ("revocation", "suspension"):
        word = "revoked" if purpose == "revocation" else "suspended"
        return FAIL, f"{word} by status list {url} (index {entry.get('statusListIndex')}{chain_note})", info
    return (
        PASS,
        f"{purpose}: bit {entry.get('statusListIndex')} of {url} is {'set' if is_set else 'clear'} ({reason}{chain_note})",
        info,
    )


def check_status_list(ev: Evidence, chain: ChainContext | None) -> Check:
    """Each BitstringStatusListEntry: list fetched, its signature and on-chain hash checked, its bit read."""
    b = ev.bundle
    if b is None:
        return skipped("status_list", ["format"])
    cred = ev.secured_credential().credential
    if cred is None:
        return Check("status_list", ERROR, "not checked: the credential cannot be read")
    entries = _status_entries(cred)
    if not entries:
        return Check("status_list", PASS, "no credentialStatus entry: nothing to check", {"entries": 0})
    outcomes = [_one_entry(ev, chain, i, e) for i, e in enumerate(entries)]
    status = max((s for s, _, _ in outcomes), key=_RANK.__getitem__)
    shown = [r for s, r, _ in outcomes if s == status]
    return Check(
        "status_list",
        status,
        "; ".join(shown),
        {"entries": [dict(info, status=s, reason=r) for s, r, info in outcomes]},
    )


#: the chain checks, in report order
ONLINE_CHECKS = (
    check_anchored,
    check_issuer_trusted,
    check_not_revoked,
    check_issuer_matches,
    check_signature,
    check_validity_period,
    check_status_list,
    check_scope,
    check_joint,
    check_stack,
)


def online_checks(ev: Evidence, chain: ChainContext) -> None:
    """Add the chain checks (every one, even when the format failed: they report what they depend on)."""
    if ev.bundle is None:
        for name in CHECKS[1:]:
            ev.add(skipped(name, ["format"]))
        return
    b = ev.bundle
    first = ev.anchors[0].inclusion
    ev.summary.update(
        {
            "digest": to_hex(b.digest),
            "root": to_hex(first.root),
            "chain_id": first.chain_id,
            "contract": first.contract,
            "tx_hash": to_hex(first.tx_hash),
            "credential": credential_summary(_credential_json(ev) or b.credential),
        }
    )
    if len(ev.anchors) > 1:
        ev.summary["anchoring_issuers"] = [ae.inclusion.issuer for ae in ev.anchors]
    for check in ONLINE_CHECKS:
        ev.add(check(ev, chain))


def credential_summary(credential: dict[str, Any] | str) -> dict[str, Any]:
    if not isinstance(credential, dict):
        return {"form": "compact"}
    out: dict[str, Any] = {}
    for key in ("id", "type", "name", "validFrom", "issuanceDate"):
        if key in credential and isinstance(credential[key], (str, list)):
            out[key] = credential[key]
    stated = stated_issuer_ids(credential)
    if stated:
        out["issuer"] = stated[0]
    return out
