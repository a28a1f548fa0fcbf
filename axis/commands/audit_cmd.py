"""``axis audit``: prove the hash chain intact, and show a message's trace.

* ``axis audit verify`` -- re-hashes every kept event; exits 0 when the chain is intact, 1 naming
  the first broken record (its sequence number and what does not match).
* ``axis audit trace MESSAGE_ID [--json]`` -- every event of one message, in order.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from axis.clock import VN_TZ
from axis.commands import CommandGroup
from axis.commands.store_access import add_store_options, with_store
from axis.config import AxisConfig
from axis.http.views import event_view
from axis.store.paging import every_page
from axis.store.protocol import Store
from axis.store.records import AuditFilter


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
        query = AuditFilter(message_id=args.message_id)
        events = await every_page(lambda cursor: store.audit_events(query, after=cursor, limit=500))
        if not events:
            print(f"message.not_found: no event of {args.message_id}")
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


def register(sub: Any) -> None:
    """Add ``axis audit``."""
    parser = sub.add_parser("audit", help="verify the audit chain; trace a message")
    group = parser.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = group.add_parser("verify", help="re-hash the chain, name the first broken record")
    add_store_options(verify)
    verify.set_defaults(handler=_verify)
    trace = group.add_parser("trace", help="every event of one message")
    add_store_options(trace)
    trace.add_argument("message_id")
    trace.add_argument("--json", action="store_true")
    trace.set_defaults(handler=_trace)


GROUP = CommandGroup(name="audit", register=register)
