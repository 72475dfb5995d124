"""The checks of a verification report, offline (format, integrity, inclusion) and against the chain."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from anchoring.bundle.v1 import BUNDLE_FORMAT, Anchor, BundleFormatError, ProofBundle, well_formed
from anchoring.errors import WrongChain
from anchoring.scheme.digest import credential_digest
from anchoring.scheme.encoding import to_hex
from anchoring.scheme.jcs import MAX_DEPTH, CanonicalizationError, canonicalize, fast_canonicalize
from anchoring.scheme.merkle import MerkleTreeError, verify_proof
from anchoring.scheme.strict_json import strict_loads
from anchoring.verify.context import _STATUS_NAMES, AnchorInfo, ChainContext, IssuerInfo
from anchoring.verify.report import (
    CHECKS,
    ERROR,
    FAIL,
    PASS,
    Check,
    VerificationReport,
    _plural,
    _skipped,
    iso_time,
)
from anchoring.verify.trust import active_at_block


# ---------------------------------------------------------------------------------------------- checks
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


def _chain_error(name: str, exc: BaseException, chain: ChainContext) -> Check:
    return Check(name, ERROR, f"could not ask the chain: {chain.describe(exc)}",
                 {"error": exc.__class__.__name__})


@dataclass
class _Parsed:
    source: Any
    bundle: ProofBundle | None = None
    checks: list[Check] = field(default_factory=list)


_FAST_DEPTH = MAX_DEPTH - 2


def _fast_load(obj: Any) -> tuple[ProofBundle, bytes] | None:
    """The common case of :meth:`ProofBundle.load` (same checks, through :func:`well_formed`) without its
    deep copy of the credential, keeping the canonical bytes for the integrity check. Returns the bundle and
    those bytes, or None, in which case :meth:`ProofBundle.load` runs and names the bad field."""
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


def _offline(obj: Any) -> _Parsed:
    """format, integrity, inclusion: no chain needed."""
    p = _Parsed(obj)
    canonical = None
    try:
        if isinstance(obj, ProofBundle):
            bundle = obj
        else:
            if isinstance(obj, (str, bytes, bytearray)):
                try:  # strict as ProofBundle.loads: no duplicate keys, no NaN / Infinity
                    obj = strict_loads(obj)
                except (ValueError, TypeError):
                    pass  # loads() below reports it precisely
            fast = _fast_load(obj) if type(obj) is dict else None
            if fast is not None:
                bundle, canonical = fast
            elif isinstance(obj, (str, bytes, bytearray)):
                bundle = ProofBundle.loads(obj, check_integrity=False)
            else:
                bundle = ProofBundle.load(obj, check_integrity=False)
    except BundleFormatError as exc:
        p.checks.append(Check("format", FAIL, f"not a valid proof bundle: {exc}", {"field": exc.field}))
        return p
    except (ValueError, TypeError) as exc:  # e.g. "0x..\n" passes the schema's `$` but not from_hex
        p.checks.append(Check("format", FAIL, f"not a valid proof bundle: {exc}", {"field": ""}))
        return p
    p.bundle = bundle
    p.checks.append(Check("format", PASS, f"a well-formed {bundle.format} bundle", {"format": bundle.format}))
    try:
        recomputed = credential_digest(bundle.salt, canonical if canonical is not None
                                       else canonicalize(bundle.credential))
        if recomputed != bundle.digest and canonical is not None:  # never let the fast path decide a failure
            recomputed = credential_digest(bundle.salt, canonicalize(bundle.credential))
    except (CanonicalizationError, ValueError) as exc:  # pragma: no cover - load canonicalised already
        p.checks.append(Check("integrity", FAIL, f"cannot canonicalise the credential: {exc}", {}))
    else:
        if recomputed == bundle.digest:
            p.checks.append(Check("integrity", PASS, "keccak256(salt || JCS(credential)) equals the digest",
                                  {"digest": to_hex(recomputed)}))
        else:
            p.checks.append(Check(
                "integrity", FAIL,
                "keccak256(salt || JCS(credential)) does not equal the bundle's digest: "
                "the credential, the salt or the digest was altered",
                {"expected": to_hex(bundle.digest), "recomputed": to_hex(recomputed)}))
    try:
        included = verify_proof(bundle.root, bundle.digest, bundle.proof)
    except MerkleTreeError as exc:  # pragma: no cover - schema guarantees 32-byte values
        included = False
        why = str(exc)
    else:
        why = "the proof does not lead from the digest's leaf to the root"
    if included:
        p.checks.append(Check("inclusion", PASS, f"the proof ({_plural(len(bundle.proof), 'node')}) folds from the "
                              "digest's leaf to the root", {"root": to_hex(bundle.root),
                                                            "proof_length": len(bundle.proof)}))
    else:
        p.checks.append(Check("inclusion", FAIL, why, {"root": to_hex(bundle.root)}))
    return p


def _online(p: _Parsed, chain: ChainContext) -> VerificationReport:
    checks = p.checks
    summary: dict[str, Any] = {}
    if p.bundle is None:
        for name in CHECKS[1:]:
            checks.append(_skipped(name, ["format"]))
        return VerificationReport(checks, summary)
    b = p.bundle
    by_name = {c.name: c for c in checks}
    summary.update({
        "digest": to_hex(b.digest),
        "root": to_hex(b.root),
        "chain_id": b.anchor.chain_id,
        "contract": b.anchor.contract,
        "tx_hash": to_hex(b.anchor.tx_hash),
        "credential": _credential_summary(b.credential),
    })

    # -- anchored --------------------------------------------------------------------------------------
    record: AnchorInfo | None = None
    anchored: Check
    try:
        chain_id = chain.chain_id
        head = chain.head
        if b.anchor.chain_id != chain_id:
            raise WrongChain(f"the bundle was anchored on chain {b.anchor.chain_id}; the verifier is "
                             f"connected to chain {chain_id}: use an RPC endpoint and deployment for that chain")
        if b.anchor.contract.lower() != chain.deployment.credential_anchor.lower():
            raise WrongChain(f"the bundle names CredentialAnchor {b.anchor.contract}; the verifier's "
                             f"deployment is {chain.deployment.credential_anchor}: use the deployment file "
                             "of the network that issued it")
        record = chain.anchor_of(b.root)
    except Exception as exc:  # noqa: BLE001
        anchored = _chain_error("anchored", exc, chain)
        if isinstance(exc, WrongChain):
            anchored.reason = chain.describe(exc)
        record = None
    else:
        if record is None:
            anchored = Check("anchored", FAIL, f"the root was never anchored in CredentialAnchor "
                             f"{chain.deployment.credential_anchor} on chain {chain_id}",
                             {"root": to_hex(b.root)})
        else:
            confirmations = head - record.block + 1
            details = {
                "issuer": record.issuer,
                "anchored_at": record.anchored_at,
                "anchored_at_iso": iso_time(record.anchored_at),
                "block": record.block,
                "head": head,
                "confirmations": confirmations,
            }
            notes = []
            if b.anchor.block_number != record.block:
                notes.append(f"bundle says block {b.anchor.block_number}")
            if b.anchor.anchored_at != record.anchored_at:
                notes.append(f"bundle says time {b.anchor.anchored_at}")
            if notes:
                details["bundle_differs"] = notes  # chain values are authoritative; reported, not failed
            summary.update({"issuer_address": record.issuer, "anchored_at": record.anchored_at,
                            "anchored_at_iso": iso_time(record.anchored_at), "block": record.block,
                            "confirmations": confirmations})
            if b.anchor.issuer.lower() != record.issuer.lower():
                anchored = Check("anchored", FAIL, f"the bundle says the root was anchored by {b.anchor.issuer}, "
                                 f"the chain says by {record.issuer}", details)
            elif confirmations < chain.min_confirmations:
                anchored = Check("anchored", ERROR, f"anchored in block {record.block} but only {confirmations} "
                                 f"of {chain.min_confirmations} confirmations yet: try again later", details)
            else:
                anchored = Check("anchored", PASS, f"anchored by {record.issuer} at {iso_time(record.anchored_at)} "
                                 f"in block {record.block} ({_plural(confirmations, 'confirmation')})", details)
    checks.append(anchored)

    # -- issuer_trusted --------------------------------------------------------------------------------
    entry: IssuerInfo | None = None
    entry_ok = False
    if record is None:
        checks.append(_skipped("issuer_trusted", ["anchored"]))
    else:
        try:
            entry = chain.issuer(record.issuer)
            entry_ok = True
            history = chain.history(record.issuer) if entry is not None else []
        except Exception as exc:  # noqa: BLE001
            checks.append(_chain_error("issuer_trusted", exc, chain))
        else:
            details = {"issuer": record.issuer, "at": record.anchored_at, "at_iso": iso_time(record.anchored_at),
                       "registry": chain.deployment.issuer_registry}
            if entry is not None:
                details.update({"did": entry.did, "kind": entry.kind, "current_status": entry.status,
                                "accreditor": entry.accreditor})
                summary.update({"issuer_did": entry.did, "issuer_status": entry.status})
            if entry is None:
                checks.append(Check("issuer_trusted", FAIL, f"{record.issuer} is not in the IssuerRegistry "
                                    f"{chain.deployment.issuer_registry}", details))
            elif not (active := active_at_block(entry, history, record))[0]:
                details["status_at_anchoring"] = active[1]
                checks.append(Check("issuer_trusted", FAIL, f"{entry.did} ({record.issuer}) was not an active "
                                    f"trusted issuer at {iso_time(record.anchored_at)} (block {record.block}): "
                                    f"{active[1]}", details))
            else:
                now = "" if entry.status == "ACTIVE" else f"; its current status is {entry.status}"
                checks.append(Check("issuer_trusted", PASS, f"{entry.did} was an active trusted issuer at "
                                    f"anchoring time{now}", details))

    # -- not_revoked -----------------------------------------------------------------------------------
    deps = [n for n in ("inclusion",) if by_name[n].status != PASS] + ([] if record is not None else ["anchored"])
    if deps:
        checks.append(_skipped("not_revoked", deps))
    else:
        try:
            st = chain.status_of(b.root, b.digest)
        except Exception as exc:  # noqa: BLE001
            checks.append(_chain_error("not_revoked", exc, chain))
        else:
            name = _STATUS_NAMES.get(st.status, str(st.status))
            summary["status"] = name
            if st.status == 0:
                detail = {"status": name}
                if st.block:
                    detail["reinstated_block"] = st.block
                checks.append(Check("not_revoked", PASS, "not revoked or suspended", detail))
            else:
                detail = {"status": name, "reason_code": st.reason, "changed_at": st.changed_at,
                          "changed_at_iso": iso_time(st.changed_at), "block": st.block}
                checks.append(Check("not_revoked", FAIL, f"{name.lower()} by the issuer at "
                                    f"{iso_time(st.changed_at)} (block {st.block}), reason code {st.reason}",
                                    detail))

    # -- issuer_matches --------------------------------------------------------------------------------
    stated = stated_issuer_ids(b.credential)
    deps = [] if by_name["integrity"].status == PASS else ["integrity"]
    if record is None:
        deps.append("anchored")
    elif not entry_ok:
        deps.append("issuer_trusted")
    if deps:
        checks.append(_skipped("issuer_matches", deps))
    elif entry is None:
        checks.append(Check("issuer_matches", FAIL, f"the anchoring address {record.issuer} has no registry "
                            "entry, so no DID to compare with", {"stated": stated}))
    elif entry.did in stated:
        checks.append(Check("issuer_matches", PASS, f"the credential's issuer {entry.did} is the registry DID "
                            "of the anchoring address", {"stated": stated, "registry_did": entry.did}))
    elif not stated:
        checks.append(Check("issuer_matches", FAIL, "the credential names no issuer (neither `issuer` nor "
                            "`issuer.id`)", {"stated": stated, "registry_did": entry.did}))
    else:
        checks.append(Check("issuer_matches", FAIL, f"the credential says it was issued by {stated[0]}, but the "
                            f"anchoring address is registered as {entry.did}",
                            {"stated": stated, "registry_did": entry.did}))
    return VerificationReport(checks, summary)


def _credential_summary(credential: dict) -> dict:
    out: dict[str, Any] = {}
    for key in ("id", "type", "name", "validFrom", "issuanceDate"):
        if key in credential and isinstance(credential[key], (str, list)):
            out[key] = credential[key]
    stated = stated_issuer_ids(credential)
    if stated:
        out["issuer"] = stated[0]
    return out
