"""``axis audit``: prove the hash chain intact, and show a message's trace.

* ``axis audit verify`` -- re-hashes every kept event; exits 0 when the chain is intact, 1 naming
  the first broken record (its sequence number and what does not match).
* ``axis audit trace ID [--json]`` -- every event of one message, in order; ``ID`` is a message
  id or an edXML DocumentId (every message that carried it: the document, its statuses).
* ``axis audit export --from --to [-o FILE]`` -- the span's events as JSON Lines, the format
  ``docs/audit.md`` verifies with the standard library alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from axis.audit import json_lines
from axis.clock import VN_TZ
from axis.commands import CommandGroup, parse_at
from axis.commands.store_access import add_store_options, with_store
from axis.config import AxisConfig
from axis.http.views import event_view
from axis.store.paging import each_page, every_page
from axis.store.protocol import Store
from axis.store.records import AuditEvent, AuditFilter


def _verify(args: argparse.Namespace) -> int:
    async def job(store: Store, config: AxisConfig) -> int:
        verdict = await store.verify_audit()
        if verdict.ok:
            print(f"audit chain intact: {verdict.checked} events")
            return 0
        print(
            f"audit.chain_broken at event {verdict.first_broken}: {verdict.reason} "
            f"({verdict.checked} events checked)"
        )
        return 1

    return with_store(args, job)


def _trace(args: argparse.Namespace) -> int:
    async def job(store: Store, config: AxisConfig) -> int:
        events: list[AuditEvent] = []
        for query in (AuditFilter(message_id=args.id), AuditFilter(document_id=args.id)):
            events = await _all_events(store, query)
            if events:
                break
        if not events:
            print(f"message.not_found: no event of a message or DocumentId {args.id!r}")
            return 1
        if args.json:
            print(json.dumps([event_view(e) for e in events], ensure_ascii=False, indent=2))
            return 0
        for event in events:
            at = event.at.astimezone(VN_TZ).strftime("%Y-%m-%d %H:%M:%S")
            who = event.system_id or "-"
            data = json.dumps(dict(event.data), ensure_ascii=False)
            print(f"{event.seq:>6} {at} {event.kind:<12} {who:<16} {','.join(event.codes)} {data}")
        return 0

    return with_store(args, job)


async def _all_events(store: Store, query: AuditFilter) -> list[AuditEvent]:
    return await every_page(lambda cursor: store.audit_events(query, after=cursor, limit=500))


def _export(args: argparse.Namespace) -> int:
    async def job(store: Store, config: AxisConfig) -> int:
        query = AuditFilter(since=args.start, until=args.end)
        out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")  # noqa: SIM115
        count = 0
        try:
            async for events in each_page(
                lambda cursor: store.audit_events(query, after=cursor, limit=1000)
            ):
                out.write(json_lines(events).decode("utf-8"))
                count += len(events)
        finally:
            if out is not sys.stdout:
                out.close()
        print(f"exported {count} events", file=sys.stderr)
        return 0

    return with_store(args, job)


def register(sub: Any) -> None:
    """Add ``axis audit``."""
    parser = sub.add_parser(
        "audit", help="verify the audit chain; trace a message or document; export a span"
    )
    group = parser.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = group.add_parser("verify", help="re-hash the chain, name the first broken record")
    add_store_options(verify)
    verify.set_defaults(handler=_verify)
    trace = group.add_parser("trace", help="every event of one message")
    add_store_options(trace)
    trace.add_argument("id", metavar="ID", help="a message id or an edXML DocumentId")
    trace.add_argument("--json", action="store_true")
    trace.set_defaults(handler=_trace)
    export = group.add_parser("export", help="events of a span as JSON Lines (docs/audit.md)")
    add_store_options(export)
    export.add_argument(
        "--from", dest="start", type=parse_at, required=True, help="instant or date"
    )
    export.add_argument("--to", dest="end", type=parse_at, required=True, help="exclusive end")
    export.add_argument("-o", "--output", default="-", help="file to write (default: stdout)")
    export.set_defaults(handler=_export)


GROUP = CommandGroup(name="audit", register=register)
