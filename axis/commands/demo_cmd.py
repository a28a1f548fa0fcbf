"""``axis demo``: one document's whole way through a real axis, printed (``make run``)."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

from axis.commands import CommandGroup
from axis.demo import run_demo


def _demo(args: argparse.Namespace) -> int:
    if args.home is not None:
        return asyncio.run(run_demo(args.home, print))
    with tempfile.TemporaryDirectory(prefix="axis-demo-") as folder:
        return asyncio.run(run_demo(Path(folder), print))


def register(sub: Any) -> None:
    """Add ``axis demo``."""
    parser = sub.add_parser(
        "demo", help="send, receive, acknowledge and answer one signed document, then trace it"
    )
    parser.add_argument(
        "--home", type=Path, default=None, help="keep the demo's data here (default: a temp dir)"
    )
    parser.set_defaults(handler=_demo)


GROUP = CommandGroup(name="demo", register=register)
