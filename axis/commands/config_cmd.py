"""``axis config``: every parameter, its environment variable, current value, default, meaning."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from axis.commands import CommandGroup
from axis.config import AxisConfig, ConfigError, parameter_table


def _show(args: argparse.Namespace) -> int:
    try:
        config = AxisConfig.from_env()
    except ConfigError as exc:
        print(f"{exc.code}: {exc.name}: {exc.message}", file=sys.stderr)
        return 2
    rows = parameter_table(config)
    if args.json:
        json.dump([dataclasses.asdict(r) for r in rows], sys.stdout, ensure_ascii=False, indent=2)
        print()
    elif args.markdown:
        print("| variable | default | meaning |")
        print("|---|---|---|")
        for row in rows:
            print(f"| `{row.variable}` | `{row.default}` | {row.meaning} |")
    else:
        width = max(len(r.variable) for r in rows)
        for row in rows:
            print(f"{row.variable:<{width}}  {row.value}")
            print(f"{'':<{width}}  default {row.default}: {row.meaning}")
    return 0


def register(sub: Any) -> None:
    """Add ``axis config``."""
    parser = sub.add_parser("config", help="show every parameter (from AXIS_* variables)")
    parser.add_argument("--json", action="store_true", help="machine-readable")
    parser.add_argument("--markdown", action="store_true", help="the README's table")
    parser.set_defaults(handler=_show)


GROUP = CommandGroup(name="config", register=register)
