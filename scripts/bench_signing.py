"""Benchmark: credentials signed and verified per second by each securing mechanism of anchoring.signing,
with the unsigned hashing path (salted JCS + keccak256, what a node does per credential today) as the
same-run baseline, and the ratio. Single process, one in-memory Ed25519 / P-256 key, no chain.

    .venv/bin/python scripts/bench_signing.py [--count 2000] [--rdfc-count 200]

* credential: scripts/examples/ob3-microcredential.json with a distinct id and learner each (Open Badges 3.0,
  every term defined, so eddsa-rdfc-2022 can sign it);
* sign: ``add_proof`` (eddsa-jcs-2022, eddsa-rdfc-2022) / ``sign_vc_jwt`` (EdDSA, ES256), then the anchored
  digest of the signed credential (``jcs`` / ``compact`` rule) as the node computes it;
* verify: ``verify_proofs`` / ``verify_vc_jwt`` with an offline DidResolver (did:key);
* rdfc is JSON-LD bound (pyld expansion + RDFC-1.0 canonicalisation, twice per signature: document and proof
  configuration, plus the safe-mode probe): it runs on --rdfc-count credentials and the split is printed.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from anchoring.scheme.digest import DigestRule, digest_of, hash_credential
from anchoring.signing import (
    DidResolver,
    KeyType,
    LocalSigner,
    add_proof,
    did_key,
    sign_vc_jwt,
    verify_proofs,
)
from anchoring.signing.dataintegrity import canonical_document, unsecured
from anchoring.signing.jsonld import rdf_canonicalize
from anchoring.signing.vcjwt import verify_vc_jwt


def credentials(n: int, issuer: str) -> list[dict]:
    base = json.loads((REPO / "scripts" / "examples" / "ob3-microcredential.json").read_text("utf-8"))
    out = []
    for i in range(n):
        c = copy.deepcopy(base)
        c["id"] = f"urn:uuid:00000000-0000-4000-8000-{i:012d}"
        c["issuer"] = {"id": issuer, "type": ["Profile"], "name": "Bench University"}
        c["credentialSubject"]["id"] = f"did:example:learner-{i}"
        out.append(c)
    return out


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:>10,.0f}/s"


def timed(fn, items):
    t = time.perf_counter()
    out = [fn(x) for x in items]
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--rdfc-count", type=int, default=200)
    args = ap.parse_args()
    ed, p256 = LocalSigner.generate(), LocalSigner.generate(KeyType.P256)
    resolver = DidResolver(fetch=None)
    creds_ed = credentials(args.count, did_key(ed.public_key))
    creds_p = credentials(args.count, did_key(p256.public_key))
    _, base = timed(hash_credential, creds_ed)
    print(f"{'mechanism':<18} {'n':>6} {'sign+digest':>12} {'verify':>12}  sign vs unsigned hashing")
    print(
        f"{'unsigned (salted)':<18} {args.count:>6} {rate(args.count, base)} {'-':>12}  1.00x (baseline {base:.3f} s)"
    )

    cases = [
        (
            "eddsa-jcs-2022",
            creds_ed,
            lambda c: add_proof(c, ed, cryptosuite="eddsa-jcs-2022"),
            DigestRule.JCS,
        ),
        (
            "eddsa-rdfc-2022",
            creds_ed[: args.rdfc_count],
            lambda c: add_proof(c, ed, cryptosuite="eddsa-rdfc-2022"),
            DigestRule.JCS,
        ),
        ("vc-jwt EdDSA", creds_ed, lambda c: sign_vc_jwt(c, ed), DigestRule.COMPACT),
        ("vc-jwt ES256", creds_p, lambda c: sign_vc_jwt(c, p256), DigestRule.COMPACT),
    ]
    for name, items, sign, rule in cases:
        signed, t_sign = timed(lambda c, s=sign, r=rule: (x := s(c), digest_of(r, x))[0], items)
        if rule == DigestRule.COMPACT:
            results, t_verify = timed(lambda x: verify_vc_jwt(x, resolver).valid, signed)
        else:
            results, t_verify = timed(lambda x: all(r.valid for r in verify_proofs(x, resolver)), signed)
        assert all(results), name
        per_base = base / args.count
        ratio = (t_sign / len(items)) / per_base
        print(
            f"{name:<18} {len(items):>6} {rate(len(items), t_sign)} {rate(len(items), t_verify)}  {ratio:.1f}x slower per credential"
        )

    # where eddsa-rdfc-2022's time goes (per credential, ms)
    sample = creds_ed[: min(args.rdfc_count, 100)]
    _, t_canon = timed(lambda c: rdf_canonicalize(c), sample)
    _, t_jcs = timed(lambda c: canonical_document(unsecured(c), "eddsa-jcs-2022"), sample)
    _, t_sig = timed(lambda c: ed.sign(b"x" * 64), sample)
    n = len(sample)
    print(
        f"eddsa-rdfc-2022 split per credential: RDFC-1.0 of the document (with the safe-mode probe) "
        f"{1000 * t_canon / n:.2f} ms (done for the document and again, smaller, for the proof configuration); "
        f"JCS of the same document {1000 * t_jcs / n:.3f} ms; one Ed25519 signature {1000 * t_sig / n:.3f} ms"
    )


if __name__ == "__main__":
    main()
