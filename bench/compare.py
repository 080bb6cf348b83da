#!/usr/bin/env python3
"""Checks that the Python baseline computes the same thing as callqa (so the timing comparison
is fair): per-call score / findings agreement between two output folders.

    python bench/compare.py CALLQA_OUT BASELINE_OUT

Prints one line; exits 0 whatever the agreement (the benchmark reports, it does not assert).
"""

import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq


def main() -> None:
    a_dir, b_dir = Path(sys.argv[1]), Path(sys.argv[2])
    a = pq.read_table(a_dir / "calls.parquet", columns=["call_id", "score", "violations", "rewards"]).to_pylist()
    b = pq.read_table(b_dir / "calls.parquet", columns=["call_id", "score", "violations", "rewards"]).to_pylist()
    a_map = {r["call_id"]: r for r in a}
    b_map = {r["call_id"]: r for r in b}
    common = a_map.keys() & b_map.keys()
    same_score = sum(1 for k in common if a_map[k]["score"] == b_map[k]["score"])
    same_all = sum(1 for k in common if a_map[k] == b_map[k])
    fa = Counter(pq.read_table(a_dir / "findings.parquet", columns=["rule_id"]).column(0).to_pylist())
    fb = Counter(pq.read_table(b_dir / "findings.parquet", columns=["rule_id"]).column(0).to_pylist())
    diff_rules = sorted(r for r in fa.keys() | fb.keys() if fa[r] != fb[r])
    n = max(1, len(common))
    print(f"callqa vs baseline.py: {len(a)} / {len(b)} calls scored; identical score on "
          f"{same_score / n:.2%}, identical score+violations+rewards on {same_all / n:.2%}; "
          f"findings {sum(fa.values())} / {sum(fb.values())}"
          + (f"; rules whose finding counts differ: {', '.join(f'{r} ({fa[r]}/{fb[r]})' for r in diff_rules[:8])}"
             if diff_rules else "; finding counts equal for every rule"))


if __name__ == "__main__":
    main()
