"""keccak256 candidates from PyPI for the Merkle build, on its hot call (one 64-byte inner-node preimage -> 32-byte
digest), same run, safe-pysha3 (what anchoring.scheme.merkle uses) as the baseline.

    .venv/bin/python scripts/bench_keccak.py [--calls 300000] [--runs 3]

Candidates: safe-pysha3 (C, ``sha3.keccak_256``), tiny-keccak (Rust, ``tiny_keccak.keccak256``), pycryptodome
(C behind ctypes/cffi, ``Crypto.Hash.keccak``), eth-hash (``eth_hash.auto.keccak``: a dispatcher over pysha3 or
pycryptodome). Each is checked against the others' digest first; a candidate not installed is skipped. Prints
ns per call (min / median / max of --runs) and the speed relative to safe-pysha3.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable


def candidates() -> dict[str, Callable[[bytes], bytes]]:
    out: dict[str, Callable[[bytes], bytes]] = {}
    try:
        from sha3 import keccak_256

        out["safe-pysha3"] = lambda b: keccak_256(b).digest()
    except ImportError:
        pass
    try:
        from tiny_keccak import keccak256  # type: ignore[import-not-found]

        out["tiny-keccak"] = keccak256
    except ImportError:
        pass
    try:
        from Crypto.Hash import keccak

        out["pycryptodome"] = lambda b: keccak.new(data=b, digest_bits=256).digest()
    except ImportError:
        pass
    try:
        from eth_hash.auto import keccak as eth_keccak

        out["eth-hash (auto)"] = eth_keccak
    except ImportError:
        pass
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=300_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    fns = candidates()
    data = [os.urandom(64) for _ in range(args.calls)]
    expected = {name: fn(data[0]) for name, fn in fns.items()}
    assert len(set(expected.values())) == 1, expected
    ns: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(args.runs):
        for name, fn in fns.items():
            t = time.process_time()
            for b in data:
                fn(b)
            ns[name].append((time.process_time() - t) / args.calls * 1e9)
    base = ns.get("safe-pysha3")
    for name, xs in ns.items():
        rel = (
            f"  {statistics.median(b / x for b, x in zip(base, xs, strict=True)):.2f}x safe-pysha3"
            if base
            else ""
        )
        print(f"{name:16s} {min(xs):7.0f} / {statistics.median(xs):7.0f} / {max(xs):7.0f} ns per call{rel}")


if __name__ == "__main__":
    main()
