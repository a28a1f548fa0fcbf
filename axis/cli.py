"""The ``axis`` command line: one sub-command group per module in :mod:`axis.commands`.

Each group module owns its own arguments and handlers, so a new capability adds a module and one
line in ``GROUPS`` rather than growing this file.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from axis.commands import (
    CommandGroup,
    adapter_cmd,
    audit_cmd,
    bench_cmd,
    client_cmd,
    config_cmd,
    deliveries_cmd,
    demo_cmd,
    edxml_cmd,
    pki_cmd,
    registry_cmd,
    run_cmd,
    serve_cmd,
    signers_cmd,
    signing_cmd,
    systems_cmd,
)
from axis.logs import configure_logging

GROUPS: tuple[CommandGroup, ...] = (
    demo_cmd.GROUP,
    run_cmd.GROUP,
    serve_cmd.GROUP,
    config_cmd.GROUP,
    edxml_cmd.GROUP,
    registry_cmd.GROUP,
    pki_cmd.GROUP,
    signing_cmd.GROUP,
    systems_cmd.GROUP,
    signers_cmd.GROUP,
    deliveries_cmd.GROUP,
    audit_cmd.GROUP,
    adapter_cmd.GROUP,
    bench_cmd.GROUP,
    client_cmd.GROUP,
)


def build_parser() -> argparse.ArgumentParser:
    """The whole parser tree, built from every registered command group."""
    parser = argparse.ArgumentParser(
        prog="axis",
        description="The document-interconnection axis (Trục liên thông văn bản).",
    )
    parser.add_argument(
        "--log-level", default="warning", help="structlog level on stderr (default: warning)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    handler = args.handler
    try:
        code: int = handler(args)
    except BrokenPipeError:
        # The reader went away (``axis registry export | head``): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
