"""``axis bench``: the broker's end-to-end benchmark against its ceiling (:mod:`axis.bench`).

Prints each phase as it starts and the figures at the end; ``--out FILE.json`` also writes the
whole result and, where matplotlib is installed, a PNG chart beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from axis.bench.run import BenchSettings, chart, run_bench, summary
from axis.commands import CommandGroup


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _bench(args: argparse.Namespace) -> int:
    settings = BenchSettings(
        agencies=args.agencies,
        documents=args.documents,
        senders=args.senders,
        intake_workers=args.intake_workers,
        store=args.store,
        serve_workers=args.serve_workers,
    )

    def say(text: str) -> None:
        print(f"bench: {text}", file=sys.stderr, flush=True)

    result = asyncio.run(run_bench(settings, say))
    print(summary(result))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
        drawn = chart(result, args.out.with_suffix(".png"))
        print(f"wrote {args.out}" + (f" and {args.out.with_suffix('.png')}" if drawn else ""))
    return 0


def register(sub: Any) -> None:
    """Add ``axis bench``."""
    parser = sub.add_parser(
        "bench", help="signed 20 KB documents end to end under load, against the ceiling"
    )
    defaults = BenchSettings()
    parser.add_argument("--agencies", type=_positive, default=defaults.agencies)
    parser.add_argument(
        "--documents", type=_positive, default=defaults.documents, help="per phase (full, half)"
    )
    parser.add_argument("--senders", type=_positive, default=defaults.senders)
    parser.add_argument(
        "--serve-workers",
        type=_positive,
        default=defaults.serve_workers,
        help="serving processes (axis serve --workers)",
    )
    parser.add_argument(
        "--intake-workers",
        type=_positive,
        default=defaults.intake_workers,
        help="intake worker processes per serving process",
    )
    parser.add_argument("--store", default=None, help="redis://… (default: embedded sqlite)")
    parser.add_argument("--out", type=Path, default=None, help="write the result JSON (+ PNG)")
    parser.set_defaults(handler=_bench)


GROUP = CommandGroup(name="bench", register=register)
