"""``axis adapter NAME ...``: the commands the installed adapters add (found by entry point).

``axis adapter list`` shows every adapter found, with what it does.
"""

from __future__ import annotations

import argparse
from typing import Any

from axis.commands import CommandGroup
from axis.plugins import discover


def _list(args: argparse.Namespace) -> int:
    adapters = discover()
    if not adapters:
        print("no adapter installed (entry point group axis.adapters)")
    for name, adapter in sorted(adapters.items()):
        print(f"{name:<12} {adapter.description}")
    return 0


def register(sub: Any) -> None:
    """Add ``axis adapter`` with ``list`` and one sub-group per installed adapter."""
    parser = sub.add_parser("adapter", help="connectors to document systems (plugins)")
    names = parser.add_subparsers(dest="adapter_name", required=True, metavar="ADAPTER")
    names.add_parser("list", help="the installed adapters").set_defaults(handler=_list)
    for name, adapter in sorted(discover().items()):
        own = names.add_parser(name, help=adapter.description)
        adapter.add_commands(own.add_subparsers(dest=f"{name}_command", required=True))


GROUP = CommandGroup(name="adapter", register=register)
