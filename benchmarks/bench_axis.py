"""The broker end to end: signed 20 KB documents over HTTP, against its ceiling.

``axis bench`` (:mod:`axis.bench`) with the figures committed: results go to
``benchmarks/results/axis.json`` (``axis-redis.json`` with ``--store redis://…``) and a chart
beside it. Run: ``.venv/bin/python benchmarks/bench_axis.py [--store redis://…]`` (a few
minutes); every option of ``axis bench`` applies.
"""

from __future__ import annotations

import sys
from pathlib import Path

from axis.cli import main

RESULTS = Path(__file__).parent / "results"

if __name__ == "__main__":
    options = sys.argv[1:]
    if "--out" not in options:
        name = "axis-redis.json" if any(o.startswith("redis") for o in options) else "axis.json"
        options += ["--out", str(RESULTS / name)]
    sys.exit(main(["bench", *options]))
