"""Score the table reader alone on damaged variants (see make_variants.py).

    .venv/bin/python bench/tables/score.py --n 10

Prints, per variant kind and overall: cell accuracy (over paths where gold or reading is
not null; a missing or extra cell counts as wrong), accuracy on non-zero gold cells, and
format accuracy.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_variants import Variant, make_all  # noqa: E402

from gov_disclosure.tables import read_tables  # noqa: E402


def score_one(v: Variant) -> dict[str, int]:
    readout = read_tables(v.text)
    pred = {c.path: c.value for c in readout.cells}
    gold = {k: val for k, val in v.gold.items() if val is not None}
    paths = set(gold) | set(pred)
    correct = sum(
        1 for p in paths if p in gold and p in pred and abs(float(pred[p]) - float(gold[p])) < 1e-6
    )
    nonzero = [p for p in gold if gold[p] != 0]
    nz_correct = sum(
        1 for p in nonzero if p in pred and abs(float(pred[p]) - float(gold[p])) < 1e-6
    )
    return {
        "cells": len(paths),
        "correct": correct,
        "nonzero": len(nonzero),
        "nonzero_correct": nz_correct,
        "format_ok": int(readout.format == v.format),
        "docs": 1,
        "perfect": int(correct == len(paths)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10, help="variants per (source, layout, damage)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--by", choices=["kind", "layout", "damage", "source"], default="kind")
    args = ap.parse_args()
    started = time.perf_counter()
    variants = make_all(args.n, args.seed)
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for v in variants:
        source, layout, damage = v.kind.split("/")
        group = {"kind": v.kind, "layout": layout, "damage": damage, "source": source}[args.by]
        for key, val in score_one(v).items():
            sums[group][key] += val
            sums["OVERALL"][key] += val
    print(
        f"{'group':42} {'docs':>5} {'cell acc':>9} {'nonzero acc':>12} {'perfect':>8} {'format':>7}"
    )
    for group in sorted(sums, key=lambda g: (g == "OVERALL", g)):
        s = sums[group]
        nz = s["nonzero_correct"] / s["nonzero"] if s["nonzero"] else float("nan")
        print(
            f"{group:42} {s['docs']:>5} {s['correct'] / s['cells']:>9.4f} {nz:>12.4f}"
            f" {s['perfect'] / s['docs']:>8.3f} {s['format_ok'] / s['docs']:>7.3f}"
        )
    print(f"{len(variants)} variants in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    main()
