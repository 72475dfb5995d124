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

A check that depends on a fact another check could not establish is ``error`` with ``details.skipped``. An
unreachable chain, a chain whose id is not the deployment's, or a bundle for a contract the deployment does not
list is ``error`` (we could not decide), never ``fail`` (we decided: not valid).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from anchoring.bundle import AnyBundle, BundleFormatError, Inclusion
from anchoring.bundle import load as load_bundle
from anchoring.bundle import loads as loads_bundle
from anchoring.bundle import v2 as bundle_v2
from anchoring.bundle.v1 import BUNDLE_FORMAT, Anchor, ProofBundle, well_formed
from anchoring.chain.contracts import AnchorRecord, CredentialStatus, IssuerEntry, IssuerStatus, StatusChange
from anchoring.chain.deployment import ContractSet
from anchoring.errors import ChainError, FormatError, WrongChain
from anchoring.scheme.digest import DigestRule, digest_of
from anchoring.scheme.encoding import to_hex
from anchoring.scheme.jcs import MAX_DEPTH, CanonicalizationError, canonicalize, fast_canonicalize
from anchoring.scheme.merkle import verify_proof
from anchoring.scheme.strict_json import strict_loads
from anchoring.verify.context import ChainContext
from anchoring.verify.report import ERROR, FAIL, PASS, Check, iso_time, plural, skipped
from anchoring.verify.trust import trusted_at_anchoring

__all__ = ["Evidence", "online_checks", "parse_offline", "stated_issuer_ids"]


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
    for inc in b.inclusions:
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
        "changed_at": st.changed_at,
        "changed_at_iso": iso_time(st.changed_at),
        "block": st.block,
    }
    return Check(
        "not_revoked",
        FAIL,
        f"{st.status.label} by the issuer at {iso_time(st.changed_at)} "
        f"(block {st.block}), reason code {st.reason}",
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


def check_issuer_matches(ev: Evidence, chain: ChainContext) -> Check:
    stated = stated_issuer_ids(ev.bundle.credential) if ev.bundle is not None else []
    return combine(
        "issuer_matches", [(ae.inclusion.issuer, _issuer_matches(ev, ae, stated)) for ae in ev.anchors]
    )


#: the chain checks, in report order
ONLINE_CHECKS = (check_anchored, check_issuer_trusted, check_not_revoked, check_issuer_matches)


def online_checks(ev: Evidence, chain: ChainContext) -> None:
    """Add the chain checks (every one, even when the format failed: they report what they depend on)."""
    if ev.bundle is None:
        for name in ("integrity", "inclusion", "anchored", "issuer_trusted", "not_revoked", "issuer_matches"):
            ev.add(skipped(name, ["format"]))
        return
    b = ev.bundle
    first = b.inclusions[0]
    ev.summary.update(
        {
            "digest": to_hex(b.digest),
            "root": to_hex(first.root),
            "chain_id": first.chain_id,
            "contract": first.contract,
            "tx_hash": to_hex(first.tx_hash),
            "credential": credential_summary(b.credential),
        }
    )
    if len(b.inclusions) > 1:
        ev.summary["anchoring_issuers"] = [inc.issuer for inc in b.inclusions]
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
