"""Registry figures: resolves per second, and the time to import the official crosswalk.

Run: ``.venv/bin/python benchmarks/bench_registry.py [--quick]``. Prints the figures and writes
them to ``benchmarks/results/registry.json``. Aims (issue 4): at least 1,000,000 resolves/s of an
active code, and the full crosswalk (10,571 rows) imported in under 2 s: read + plan + apply.

* resolve, the headline (the broker's real pattern): a mix of 600 active, 300 redirected and 100
  ambiguous codes of the packaged seed (14k records, 11k successions), shuffled, with a NEW
  instant on every call (each document is received at its own instant); warm registry (every
  code asked once before), the best of 5 runs.
* resolve per case: one code, the same call repeated at one instant, as for the recipients of a
  burst of documents; the best of 5 runs.
* import: the seed without what the crosswalk states (old units and their successions), so the
  import really adds 10,792 records and 10,792 successions; each stage timed separately, the
  median of 5 runs; both shapes of the file (normalised and the office's raw sheet).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from axis.paths import shared_data_dir  # noqa: E402
from registry import sources, sync  # noqa: E402
from registry.model import CUTOVER_2025, vn_midnight  # noqa: E402
from registry.registry import Registry  # noqa: E402
from registry.seed import load_seed, seed_records  # noqa: E402
from registry.sources.adminkeys import is_admin_key  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "registry.json"
AT = vn_midnight(date(2025, 7, 2))


def resolves_per_second(registry: Registry, code: str, n: int, runs: int = 5) -> float:
    resolve = registry.resolve
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(n):
            resolve(code, AT)
        best = min(best, time.perf_counter() - start)
    return n / best


MIX: dict[str, int] = {"active": 600, "redirected": 300, "ambiguous": 100}
"""How many codes of each status the headline mix resolves (the seed's own codes)."""


def mixed_codes(registry: Registry, seed: int = 4) -> list[str]:
    """Codes of the seed with the statuses of :data:`MIX` at :data:`AT`, chosen at random."""
    rng = random.Random(seed)
    codes = sorted({a.code for a in registry.agencies()})
    rng.shuffle(codes)
    wanted = dict(MIX)
    chosen: list[str] = []
    for code in codes:
        status = registry.resolve(code, AT).status
        if wanted.get(status, 0) > 0:
            wanted[status] -= 1
            chosen.append(code)
    return chosen


def mixed_new_instant_per_second(registry: Registry, n: int, runs: int = 5) -> float:
    """Resolves per second over the mix, each call at an instant never asked before."""
    codes = mixed_codes(registry)
    pairs = [(codes[i % len(codes)], AT + timedelta(microseconds=i)) for i in range(n)]
    random.Random(5).shuffle(pairs)
    resolve = registry.resolve
    for code in codes:  # warm: the broker's registry has seen its codes before
        resolve(code, AT - timedelta(days=1))
    best = float("inf")
    for run in range(runs):
        shifted = [(code, at + timedelta(seconds=run)) for code, at in pairs]  # new instants
        start = time.perf_counter()
        for code, at in shifted:
            resolve(code, at)
        best = min(best, time.perf_counter() - start)
    return n / best


def base_registry() -> Registry:
    agencies, successions = seed_records()
    return Registry.build(
        [a for a in agencies if not (is_admin_key(a.code) and a.valid_until == CUTOVER_2025)],
        [s for s in successions if not is_admin_key(s.from_code)],
        created_at=CUTOVER_2025,
    )


def time_import(base: Registry, path: Path, runs: int) -> dict[str, float | int]:
    stages: dict[str, list[float]] = {"read": [], "plan": [], "apply": [], "total": []}
    changes = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        batch = sources.read(path)
        t1 = time.perf_counter()
        planned = sync.plan(base, batch)
        t2 = time.perf_counter()
        applied = sync.apply(base, planned, "bench", "crosswalk")
        t3 = time.perf_counter()
        changes = applied.version - base.version and len(planned.changes)
        for name, value in (
            ("read", t1 - t0),
            ("plan", t2 - t1),
            ("apply", t3 - t2),
            ("total", t3 - t0),
        ):
            stages[name].append(value)
    out: dict[str, float | int] = {
        f"{name}_s": round(statistics.median(values), 4) for name, values in stages.items()
    }
    out["changes"] = changes
    out["rows"] = batch.rows
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="registry benchmark")
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    n = 100_000 if args.quick else 1_000_000
    runs = 2 if args.quick else 5

    seed = load_seed()
    figures: dict[str, object] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "measured_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "seed": {"records": len(seed), "successions": sum(1 for _ in seed.successions())},
    }
    cases: dict[str, tuple[str, str]] = {
        "active": ("000.00.00.H38", "active"),
        "redirected": ("000.00.00.H63", "redirected"),
        "redirected_admin_unit": ("XA-00001", "redirected"),
        "ambiguous": ("XA-00016", "ambiguous"),
    }
    mix_calls = n // 2
    mixed = mixed_new_instant_per_second(seed, mix_calls, runs)
    figures["headline"] = {
        "what": "resolve, mixed codes (active/redirected/ambiguous), a new instant per call",
        "mix": MIX,
        "per_second": round(mixed),
        "calls": mix_calls,
        "aim_per_second": 1_000_000,
    }
    print(f"resolve {'mixed, new instant':22} {'(1000 codes)':15} {mixed:>14,.0f} /s  (headline)")
    resolve_figures: dict[str, dict[str, object]] = {}
    for name, (code, status) in cases.items():
        assert seed.resolve(code, AT).status == status, (code, seed.resolve(code, AT))
        count = n if name == "active" else n // 10
        rate = resolves_per_second(seed, code, count)
        resolve_figures[name] = {"code": code, "per_second": round(rate), "calls": count}
        print(f"resolve {name:22} {code:15} {rate:>14,.0f} /s")
    figures["resolve"] = resolve_figures

    shared = shared_data_dir() / "adminunits" / "official"
    if shared.is_dir():
        base = base_registry()
        imports: dict[str, object] = {}
        for label, filename in (
            ("normalised", "old_communes_to_new_nso.csv"),
            ("sheet_raw", "nso_crosswalk_sheet_raw.csv"),
        ):
            result = time_import(base, shared / filename, runs)
            imports[label] = result
            print(
                f"import {label:10} read {result['read_s']:.3f}s  plan {result['plan_s']:.3f}s"
                f"  apply {result['apply_s']:.3f}s  total {result['total_s']:.3f}s"
                f"  ({result['rows']} rows, {result['changes']} changes)"
            )
        figures["import_crosswalk"] = imports
    else:
        print(f"skipping the import figures: {shared} is absent")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
