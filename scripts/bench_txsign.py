"""Transaction signing per anchoring transaction: eth-account through eth-keys' coincurve backend (libsecp256k1,
what the node uses once coincurve is installed) against its pure-Python backend, in the same run.

    .venv/bin/python scripts/bench_txsign.py [--count 200] [--runs 3]

Each backend runs in its own interpreter (eth-keys picks its backend at import, ECC_BACKEND_CLASS), alternating,
signing the same EIP-1559 transaction; prints CPU ms per transaction (min / median / max of --runs) and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

CHILD = """
import sys, time
from eth_account import Account
from eth_keys.backends import get_backend
acct = Account.from_key(b"\\x11" * 32)
tx = {"to": "0x5FbDB2315678afecb367f032d93F642f64180aa3", "value": 0, "gas": 100000, "maxFeePerGas": 2 * 10**9,
      "maxPriorityFeePerGas": 10**9, "nonce": 1, "chainId": 31337, "data": "0x" + "ab" * 100, "type": 2}
acct.sign_transaction(tx)
n = int(sys.argv[1])
t = time.process_time()
for _ in range(n):
    acct.sign_transaction(tx)
print(type(get_backend()).__name__, (time.process_time() - t) / n * 1000)
"""

BACKENDS = {
    "coincurve": "eth_keys.backends.CoinCurveECCBackend",
    "pure Python": "eth_keys.backends.NativeECCBackend",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=200, help="transactions signed per run")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    ms: dict[str, list[float]] = {name: [] for name in BACKENDS}
    for _ in range(args.runs):
        for name, cls in BACKENDS.items():
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(args.count)],
                env={**os.environ, "ECC_BACKEND_CLASS": cls},
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            assert out[0] == cls.rsplit(".", 1)[1], out
            ms[name].append(float(out[1]))
    for name, xs in ms.items():
        print(f"{name:12s}: {min(xs):.2f} / {statistics.median(xs):.2f} / {max(xs):.2f} ms per transaction")
    ratio = [p / c for p, c in zip(ms["pure Python"], ms["coincurve"], strict=True)]
    print(f"coincurve is {min(ratio):.1f} / {statistics.median(ratio):.1f} / {max(ratio):.1f}x faster")


if __name__ == "__main__":
    main()
