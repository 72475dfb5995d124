"""What the EU micro-credential profile and a JAdES seal check add to accepting a credential.

For each real credential (tests/samples, sources in its README): the time of the profile check and of opening the
sealed envelope (JWS verification with the x5c certificate), against a same-run baseline, hashing the credential
(RFC 8785 + salted keccak, what every accept does anyway), and their ratio.

    python scripts/bench_profiles.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # measure the checkout this script is in

from rich.console import Console
from rich.table import Table

from anchoring.scheme.digest import hash_credential
from node.issuance.envelopes import open_envelope
from node.issuance.profiles import evaluate_profile

SAMPLES = REPO / "tests" / "samples"
CASES = {
    "credreg ELM example (9 KB)": REPO / "scripts" / "examples" / "elm-microcredential.json",
    "credreg OB 3.0 example (4 KB)": REPO / "scripts" / "examples" / "ob3-microcredential.json",
    "EC Annex I, unsigned (111 KB)": SAMPLES / "ec-elm" / "Sample-MC-Annex1-unsigned.jsonld",
    "EC Annex I, sealed (151 KB)": SAMPLES / "ec-elm" / "Sample-MC-Annex1-signed.jsonld",
    "MyNextID EDC, unsigned (494 KB)": SAMPLES / "mynextid" / "edc-mc-example.json",
    "MyNextID EDC, sealed (513 KB)": SAMPLES / "mynextid" / "edc-mc-signed.jsonld",
}


def per_call(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm up
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    table = Table(title=f"per credential, mean of {args.repeat} calls")
    for col in ("credential", "baseline: hash (ms)", "profile (ms)", "ratio", "seal check (ms)", "ratio"):
        table.add_column(col, justify="right" if col != "credential" else "left")
    for name, path in CASES.items():
        doc = json.loads(path.read_text(encoding="utf-8"))
        opened = open_envelope(doc)
        credential = opened.credential if opened else doc
        base = per_call(lambda d=doc: hash_credential(d), args.repeat)
        prof = per_call(lambda c=credential: evaluate_profile("eu-microcredential", c), args.repeat)
        seal = per_call(lambda d=doc: open_envelope(d), args.repeat) if opened else None
        table.add_row(
            name,
            f"{base * 1e3:.3f}",
            f"{prof * 1e3:.3f}",
            f"{prof / base:.2f}",
            f"{seal * 1e3:.3f}" if seal is not None else "-",
            f"{seal / base:.2f}" if seal is not None else "-",
        )
    Console(width=130).print(table)


if __name__ == "__main__":
    main()
