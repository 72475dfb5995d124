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

from anchoring.bundle import BundleFormatError, ProofBundle
from anchoring.bundle import load as load_bundle
from anchoring.bundle import loads as loads_bundle
from anchoring.bundle.v1 import BUNDLE_FORMAT, Anchor, well_formed
from anchoring.chain.contracts import AnchorRecord, CredentialStatus, IssuerEntry, IssuerStatus, StatusChange
from anchoring.chain.deployment import ContractSet
from anchoring.errors import ChainError, FormatError, WrongChain
from anchoring.scheme.digest import credential_digest
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
class Evidence:
    """What the checks of one bundle establish, shared with the checks that depend on it and the summary."""

    source: Any
    bundle: ProofBundle | None = None
    canonical: bytes | None = None
    checks: dict[str, Check] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    contracts: ContractSet | None = None
    anchor: AnchorRecord | None = None
    entry: IssuerEntry | None = None
    entry_known: bool = False  # the registry answered (entry may still be None: not registered)
    history: list[StatusChange] = field(default_factory=list)

    def add(self, check: Check) -> None:
        self.checks[check.name] = check

    def passed(self, name: str) -> bool:
        found = self.checks.get(name)
        return found is not None and found.status == PASS


def _chain_error(name: str, exc: ChainError, chain: ChainContext) -> Check:
    return Check(name, ERROR, f"could not ask the chain: {chain.describe(exc)}", {"error": type(exc).__name__})


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
        credential=cred, salt=fh(obj["salt"][2:]), digest=fh(obj["digest"][2:]),
        proof=tuple(fh(p[2:]) for p in proof), root=fh(obj["root"][2:]),
        anchor=Anchor(chain_id=a["chainId"], contract=a["contract"], tx_hash=fh(a["txHash"][2:]),
                      block_number=a["blockNumber"], issuer=a["issuer"], anchored_at=a["anchoredAt"]),
        format=BUNDLE_FORMAT)
    return bundle, canonical


def check_format(ev: Evidence) -> Check:
    obj = ev.source
    try:
        if isinstance(obj, ProofBundle):
            bundle = obj
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
                bundle = loads_bundle(obj, check_integrity=False)
            else:
                bundle = load_bundle(obj, check_integrity=False)
    except BundleFormatError as exc:
        return Check("format", FAIL, f"not a valid proof bundle: {exc}", {"field": exc.field})
    except FormatError as exc:  # e.g. "0x..\n" passes the schema's `$` but not from_hex
        return Check("format", FAIL, f"not a valid proof bundle: {exc}", {"field": exc.field or ""})
    ev.bundle = bundle
    return Check("format", PASS, f"a well-formed {bundle.format} bundle", {"format": bundle.format})


def check_integrity(ev: Evidence) -> Check:
    b = ev.bundle
    if b is None:
        return skipped("integrity", ["format"])
    canonical = ev.canonical if ev.canonical is not None else canonicalize(b.credential)
    recomputed = credential_digest(b.salt, canonical)
    if recomputed != b.digest and ev.canonical is not None:  # never let the fast path decide a failure
        recomputed = credential_digest(b.salt, canonicalize(b.credential))
    if recomputed == b.digest:
        return Check("integrity", PASS, "keccak256(salt || JCS(credential)) equals the digest",
                     {"digest": to_hex(recomputed)})
    return Check("integrity", FAIL, "keccak256(salt || JCS(credential)) does not equal the bundle's digest: "
                                    "the credential, the salt or the digest was altered",
                 {"expected": to_hex(b.digest), "recomputed": to_hex(recomputed)})


def check_inclusion(ev: Evidence) -> Check:
    b = ev.bundle
    if b is None:
        return skipped("inclusion", ["format"])
    if verify_proof(b.root, b.digest, b.proof):
        return Check("inclusion", PASS, f"the proof ({plural(len(b.proof), 'node')}) folds from the digest's leaf "
                                        "to the root", {"root": to_hex(b.root), "proof_length": len(b.proof)})
    return Check("inclusion", FAIL, "the proof does not lead from the digest's leaf to the root",
                 {"root": to_hex(b.root)})


def parse_offline(source: Any) -> Evidence:
    """format, integrity, inclusion: no chain needed."""
    ev = Evidence(source)
    ev.add(check_format(ev))
    if ev.bundle is not None:
        ev.add(check_integrity(ev))
        ev.add(check_inclusion(ev))
    return ev


# ---------------------------------------------------------------------------------------------- online
def check_anchored(ev: Evidence, chain: ChainContext) -> Check:
    b = ev.bundle
    if b is None:
        return skipped("anchored", ["format"])
    try:
        chain_id, head = chain.chain_id, chain.head
        if b.anchor.chain_id != chain_id:
            raise WrongChain(f"the bundle was anchored on chain {b.anchor.chain_id}; the verifier is connected "
                             f"to chain {chain_id}: use an RPC endpoint and deployment for that chain")
        ev.contracts = chain.contracts_for(b.anchor.contract)
        ev.anchor = chain.anchor_of(ev.contracts, b.anchor.issuer, b.root)
    except ChainError as exc:
        ev.anchor = None
        return _chain_error("anchored", exc, chain)
    record = ev.anchor
    if record is None:
        return Check("anchored", FAIL, f"{b.anchor.issuer} never anchored this root in CredentialAnchor "
                                       f"{ev.contracts.credential_anchor} on chain {chain_id}",
                     {"root": to_hex(b.root), "issuer": b.anchor.issuer})
    confirmations = head - record.block_number + 1
    details: dict[str, Any] = {
        "issuer": record.issuer, "anchored_at": record.anchored_at, "anchored_at_iso": iso_time(record.anchored_at),
        "block": record.block_number, "head": head, "confirmations": confirmations,
        "contract_version": ev.contracts.version,
    }
    if record.leaf_count is not None:
        details["leaf_count"] = record.leaf_count
    notes = []
    if b.anchor.block_number != record.block_number:
        notes.append(f"bundle says block {b.anchor.block_number}")
    if b.anchor.anchored_at != record.anchored_at:
        notes.append(f"bundle says time {b.anchor.anchored_at}")
    if notes:
        details["bundle_differs"] = notes  # chain values are authoritative; reported, not failed
    ev.summary.update({"issuer_address": record.issuer, "anchored_at": record.anchored_at,
                       "anchored_at_iso": iso_time(record.anchored_at), "block": record.block_number,
                       "confirmations": confirmations})
    if confirmations < chain.min_confirmations:
        return Check("anchored", ERROR, f"anchored in block {record.block_number} but only {confirmations} of "
                                        f"{chain.min_confirmations} confirmations yet: try again later", details)
    return Check("anchored", PASS, f"anchored by {record.issuer} at {iso_time(record.anchored_at)} in block "
                                   f"{record.block_number} ({plural(confirmations, 'confirmation')})", details)


def check_issuer_trusted(ev: Evidence, chain: ChainContext) -> Check:
    record, contracts = ev.anchor, ev.contracts
    if record is None or contracts is None:
        return skipped("issuer_trusted", ["anchored"])
    try:
        ev.entry = chain.issuer(contracts, record.issuer)
        ev.history = chain.history(contracts, record.issuer) if ev.entry is not None else []
    except ChainError as exc:
        return _chain_error("issuer_trusted", exc, chain)
    ev.entry_known = True
    entry = ev.entry
    details: dict[str, Any] = {"issuer": record.issuer, "at": record.anchored_at,
                               "at_iso": iso_time(record.anchored_at), "registry": contracts.issuer_registry}
    if entry is None:
        return Check("issuer_trusted", FAIL, f"{record.issuer} is not in the IssuerRegistry "
                                             f"{contracts.issuer_registry}", details)
    details.update({"did": entry.did, "kind": entry.kind.label, "current_status": entry.status.label,
                    "accreditor": entry.accreditor})
    ev.summary.update({"issuer_did": entry.did, "issuer_status": entry.status.label})
    verdict = trusted_at_anchoring(entry, ev.history, record)
    if not verdict.trusted:
        details["status_at_anchoring"] = verdict.status.label
        return Check("issuer_trusted", FAIL, f"{entry.did} ({record.issuer}) was not an active trusted issuer at "
                                             f"{iso_time(record.anchored_at)} (block {record.block_number}): "
                                             f"{verdict.reason}", details)
    now = "" if entry.status == IssuerStatus.ACTIVE else f"; its current status is {entry.status.label}"
    return Check("issuer_trusted", PASS, f"{entry.did} was an active trusted issuer at anchoring time{now}",
                 details)


def check_not_revoked(ev: Evidence, chain: ChainContext) -> Check:
    b, record, contracts = ev.bundle, ev.anchor, ev.contracts
    deps = [n for n in ("inclusion",) if not ev.passed(n)] + ([] if record is not None else ["anchored"])
    if deps or b is None or record is None or contracts is None:
        return skipped("not_revoked", deps or ["anchored"])
    try:
        st = chain.status_of(contracts, record.issuer, b.root, b.digest)
    except ChainError as exc:
        return _chain_error("not_revoked", exc, chain)
    ev.summary["status"] = st.status.label
    if st.status == CredentialStatus.VALID:
        detail: dict[str, Any] = {"status": st.status.label}
        if st.block:
            detail["reinstated_block"] = st.block
        return Check("not_revoked", PASS, "not revoked or suspended", detail)
    detail = {"status": st.status.label, "reason_code": st.reason, "changed_at": st.changed_at,
              "changed_at_iso": iso_time(st.changed_at), "block": st.block}
    return Check("not_revoked", FAIL, f"{st.status.label} by the issuer at {iso_time(st.changed_at)} "
                                      f"(block {st.block}), reason code {st.reason}", detail)


def check_issuer_matches(ev: Evidence, chain: ChainContext) -> Check:
    b = ev.bundle
    stated = stated_issuer_ids(b.credential) if b is not None else []
    deps = [] if ev.passed("integrity") else ["integrity"]
    if ev.anchor is None:
        deps.append("anchored")
    elif not ev.entry_known:
        deps.append("issuer_trusted")
    if deps:
        return skipped("issuer_matches", deps)
    entry = ev.entry
    if entry is None:
        return Check("issuer_matches", FAIL, f"the anchoring address {ev.anchor.issuer if ev.anchor else ''} has "
                                             "no registry entry, so no DID to compare with", {"stated": stated})
    details = {"stated": stated, "registry_did": entry.did}
    if entry.did in stated:
        return Check("issuer_matches", PASS, f"the credential's issuer {entry.did} is the registry DID of the "
                                             "anchoring address", details)
    if not stated:
        return Check("issuer_matches", FAIL, "the credential names no issuer (neither `issuer` nor `issuer.id`)",
                     details)
    return Check("issuer_matches", FAIL, f"the credential says it was issued by {stated[0]}, but the anchoring "
                                         f"address is registered as {entry.did}", details)


#: the chain checks, in report order
ONLINE_CHECKS = (check_anchored, check_issuer_trusted, check_not_revoked, check_issuer_matches)


def online_checks(ev: Evidence, chain: ChainContext) -> None:
    """Add the chain checks (every one, even when the format failed: they report what they depend on)."""
    if ev.bundle is None:
        for name in ("integrity", "inclusion", "anchored", "issuer_trusted", "not_revoked", "issuer_matches"):
            ev.add(skipped(name, ["format"]))
        return
    b = ev.bundle
    ev.summary.update({"digest": to_hex(b.digest), "root": to_hex(b.root), "chain_id": b.anchor.chain_id,
                       "contract": b.anchor.contract, "tx_hash": to_hex(b.anchor.tx_hash),
                       "credential": credential_summary(b.credential)})
    for check in ONLINE_CHECKS:
        ev.add(check(ev, chain))


def credential_summary(credential: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("id", "type", "name", "validFrom", "issuanceDate"):
        if key in credential and isinstance(credential[key], (str, list)):
            out[key] = credential[key]
    stated = stated_issuer_ids(credential)
    if stated:
        out["issuer"] = stated[0]
    return out
