"""CLI group of a connected system: ``axis send``, ``axis receive``, ``axis status``.

These talk to an axis over ``/v1`` with the SDK (:mod:`adapters.client`), as a document system
would, so they work against a remote axis as well as the local one. Connection flags and their
environment fallbacks (``AXIS_CLIENT_URL``, ``AXIS_CLIENT_SYSTEM``, ``AXIS_CLIENT_SECRET``) are
in :mod:`adapters.client.options`. A refusal prints ``code at location: message`` on stderr and
exits 1; missing credentials exit 2; Ctrl-C during ``receive --follow`` exits 0 after the file
in hand is written and acknowledged (or not at all).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from adapters.client import AxisClient, AxisClientError, InboxItem, receive_one
from adapters.client.options import add_connection_options, connection_from
from axis.commands import CommandGroup
from edxml import CodedError


def _say_error(error: CodedError, subject: str | None = None) -> None:
    where = f" at {error.location}" if error.location else ""
    prefix = f"{subject}: " if subject else ""
    print(f"{prefix}{error.code}{where}: {error.message}", file=sys.stderr)


def _client(args: argparse.Namespace) -> AxisClient | None:
    try:
        return connection_from(args).client()
    except CodedError as exc:
        _say_error(exc)
        return None


# -- axis send ------------------------------------------------------------------------------


async def _send_all(client: AxisClient, files: list[Path], partial: bool) -> int:
    failed = 0
    async with client:
        for path in files:
            try:
                data = path.read_bytes()
            except OSError as exc:
                print(f"{path}: file.unreadable at {path}: {exc.strerror}", file=sys.stderr)
                failed += 1
                continue
            try:
                result = await client.send(data, partial=partial)
            except AxisClientError as exc:
                _say_error(exc, str(path))
                failed += 1
                continue
            routes = " ".join(
                f"{r.requested}->{r.code}" if r.code and r.code != r.requested else r.requested
                for r in result.recipients
            )
            state = "duplicate" if result.duplicate else "accepted"
            unresolved = " ".join(str(u.get("requested", "?")) for u in result.unresolved)
            tail = f"\tunresolved: {unresolved}" if unresolved else ""
            print(f"{path}\t{result.message_id}\t{state}\t{routes}{tail}", flush=True)
    return 1 if failed else 0


def _send(args: argparse.Namespace) -> int:
    client = _client(args)
    if client is None:
        return 2
    return asyncio.run(_send_all(client, list(args.files), args.partial))


# -- axis receive ---------------------------------------------------------------------------


def _line(item: InboxItem, path: Path | None) -> str:
    where = str(path) if path is not None else "(withdrawn by its sender)"
    subject = (item.subject or "").replace("\t", " ").replace("\n", " ")
    return f"{where}\t{item.kind}\t{item.sender_code}\t{item.document_id or ''}\t{subject}"


async def _receive(client: AxisClient, args: argparse.Namespace) -> int:
    out: Path = args.out
    async with client:
        if args.follow:
            async for item in client.iter_inbox(kind=args.kind, wait=args.wait):
                done = await receive_one(client, item, out, ack=not args.no_ack)
                print(_line(item, done.path), flush=True)
            return 0  # pragma: no cover - iter_inbox ends only when cancelled
        cursor: str | None = None
        while True:
            page = await client.inbox(after=cursor, kind=args.kind)
            for item in page.items:
                done = await receive_one(client, item, out, ack=not args.no_ack)
                print(_line(item, done.path), flush=True)
            if not page.items:
                return 0
            cursor = page.cursor


def _receive_cmd(args: argparse.Namespace) -> int:
    client = _client(args)
    if client is None:
        return 2
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"dir.unwritable at {args.out}: {exc.strerror}", file=sys.stderr)
        return 1
    try:
        return asyncio.run(_receive(client, args))
    except KeyboardInterrupt:
        return 0
    except CodedError as exc:
        _say_error(exc)
        return 1
    except OSError as exc:
        print(f"file.unwritable at {exc.filename or args.out}: {exc.strerror}", file=sys.stderr)
        return 1


# -- axis status ----------------------------------------------------------------------------


def _status(args: argparse.Namespace) -> int:
    client = _client(args)
    if client is None:
        return 2

    async def main() -> dict[str, Any]:
        async with client:
            return (await client.status(args.document_id, args.code)).to_dict()

    try:
        found = asyncio.run(main())
    except CodedError as exc:
        _say_error(exc)
        return 1
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
        return 0
    status = found["status"]
    business = f"status {status['status_code']} at {status['at']}" if status else "no status yet"
    print(
        f"{found['document_id']}\t{found['code']}\t{found['state']}\t{business}"
        f"\tmessage {found['message_id']}"
    )
    return 0


# -- registration ---------------------------------------------------------------------------


def register(sub: Any) -> None:
    """Add ``send``, ``receive`` and ``status``."""
    send = sub.add_parser("send", help="send edXML files to an axis as a connected system")
    send.add_argument("files", nargs="+", type=Path, metavar="FILE")
    send.add_argument(
        "--partial",
        action="store_true",
        help="accept the recipients that resolve, report the others",
    )
    add_connection_options(send)
    send.set_defaults(handler=_send)

    receive = sub.add_parser(
        "receive", help="write received packages to a directory, then acknowledge them"
    )
    receive.add_argument("--out", type=Path, required=True, metavar="DIR")
    receive.add_argument("--follow", action="store_true", help="long-poll until Ctrl-C")
    receive.add_argument("--kind", choices=("edoc", "status"))
    receive.add_argument(
        "--no-ack", action="store_true", help="write only; the axis offers them again later"
    )
    receive.add_argument(
        "--wait", type=float, default=30.0, help="long-poll seconds with --follow (default 30)"
    )
    add_connection_options(receive)
    receive.set_defaults(handler=_receive_cmd)

    status = sub.add_parser(
        "status", help="a recipient's delivery state and latest business status of a document"
    )
    status.add_argument("document_id", metavar="DOC_ID")
    status.add_argument("code", metavar="CODE")
    status.add_argument("--json", action="store_true", help="the whole answer as JSON")
    add_connection_options(status)
    status.set_defaults(handler=_status)


GROUP = CommandGroup(name="client", register=register)
