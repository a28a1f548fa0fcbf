"""The drop folder as an axis adapter plugin: ``axis adapter dropfolder run ...``.

It runs on its own, beside a document system, and talks to any axis over ``/v1`` with the SDK;
so :meth:`DropFolderAdapter.install` adds nothing to a serving axis. ``axis adapter`` hands each
adapter a required sub-command level, hence ``run`` rather than a runnable group.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from adapters.client.options import add_connection_options, connection_from
from adapters.dropfolder.folder import DropFolder, UnauthorisedError
from adapters.dropfolder.runner import Settings, run
from edxml import CodedError


class DropFolderAdapter:
    """Folders in, folders out: for document systems that exchange files, not HTTP calls."""

    name = "dropfolder"
    description = "send edXML dropped in outbox/, write received packages to inbox/"

    def install(self, host: Any) -> None:
        """Nothing: the drop folder is a client of the axis, not part of it."""

    def add_commands(self, sub: Any) -> None:
        """``run``: one pass with ``--once``, else a loop until SIGTERM or Ctrl-C."""
        parser: argparse.ArgumentParser = sub.add_parser(
            "run", help="exchange one system's documents through its folders"
        )
        parser.add_argument(
            "--root",
            type=Path,
            required=True,
            help="the folder holding outbox/ sent/ failed/ inbox/",
        )
        parser.add_argument(
            "--interval", type=float, default=5.0, help="seconds between rounds (default 5)"
        )
        parser.add_argument(
            "--settle",
            type=float,
            default=2.0,
            help="seconds a file must stay unchanged before it is sent (default 2)",
        )
        parser.add_argument("--once", action="store_true", help="process what is there and exit")
        parser.add_argument(
            "--partial", action="store_true", help="send to the recipients that resolve"
        )
        parser.add_argument("--kind", choices=("edoc", "status"), help="receive only this kind")
        add_connection_options(parser)
        parser.set_defaults(handler=_run_command)


def _run_command(args: argparse.Namespace) -> int:
    try:
        client = connection_from(args).client()
    except CodedError as exc:
        print(f"{exc.code} at {exc.location}: {exc.message}", file=sys.stderr)
        return 2
    folder = DropFolder(args.root, settle=args.settle, partial=args.partial, say=_say)
    settings = Settings(interval=args.interval, kind=args.kind)
    try:
        return asyncio.run(run(folder, client, settings, args.once))
    except KeyboardInterrupt:
        return 0
    except UnauthorisedError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except CodedError as exc:
        where = f" at {exc.location}" if exc.location else ""
        print(f"{exc.code}{where}: {exc.message}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"file.unwritable at {exc.filename or args.root}: {exc.strerror}", file=sys.stderr)
        return 1


def _say(line: str) -> None:
    print(line, flush=True)


ADAPTER = DropFolderAdapter()
