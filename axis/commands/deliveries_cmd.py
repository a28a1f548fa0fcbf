"""``axis deliveries``: dead letters and what an admin does with them.

* ``axis deliveries dead [--json]`` -- deliveries that failed (``fail`` ack) or ran out of
  attempts (``dead``); never dropped, waiting here for a decision.
* ``axis deliveries retry MESSAGE_ID CODE`` -- back to pending (the recipient finds it again).
* ``axis deliveries cancel MESSAGE_ID CODE`` -- ended for good (audited).
* ``axis deliveries drain CODE [--off]`` -- after a succession, let the closed code's own system
  drain its pending deliveries instead of moving them to the successor.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from axis.admin import act_on_delivery, set_drain
from axis.clock import Clock, iso
from axis.commands import CommandGroup
from axis.commands.store_access import add_store_options, with_store
from axis.config import AxisConfig
from axis.errors import NotFoundError
from axis.http.views import delivery_view
from axis.store.paging import every_page
from axis.store.protocol import Store
from axis.store.records import Delivery

CLI_SYSTEM = "cli"


def _print(deliveries: list[Delivery], as_json: bool) -> None:
    if as_json:
        print(json.dumps([delivery_view(d) for d in deliveries], ensure_ascii=False, indent=2))
        return
    if not deliveries:
        print("no dead letters")
        return
    for d in deliveries:
        print(
            f"{d.message_id}  {d.code:<16} {d.state:<5} attempts {d.attempts}  "
            f"{iso(d.updated_at)}  {d.reason or ''}"
        )


def _dead(args: argparse.Namespace) -> int:
    async def job(store: Store, config: AxisConfig) -> int:
        found = await every_page(lambda cursor: store.dead_letters(after=cursor, limit=500))
        _print(found, args.json)
        return 0

    return with_store(args, job)


def _act(args: argparse.Namespace) -> int:
    async def job(store: Store, config: AxisConfig) -> int:
        code = args.code.upper()
        now = Clock(config.clock_offset).now()
        try:
            changed = await act_on_delivery(
                store, args.action, args.message_id, code, now, system_id=CLI_SYSTEM
            )
        except NotFoundError as exc:
            print(f"{exc.code}: {exc.message}")
            return 1
        print(f"{args.message_id} {code}: {changed.state}")
        return 0

    return with_store(args, job)


def _drain(args: argparse.Namespace) -> int:
    async def job(store: Store, config: AxisConfig) -> int:
        now = Clock(config.clock_offset).now()
        code = args.code.upper()
        on = not args.off
        await set_drain(store, code, on, now, system_id=CLI_SYSTEM)
        print(
            f"{code}: pending deliveries "
            + ("stay for its own system to drain" if on else "move to the successor")
        )
        return 0

    return with_store(args, job)


def register(sub: Any) -> None:
    """Add ``axis deliveries``."""
    parser = sub.add_parser("deliveries", help="dead letters: list, retry, cancel; drains")
    group = parser.add_subparsers(dest="deliveries_command", required=True, metavar="ACTION")
    dead = group.add_parser("dead", help="list dead letters")
    add_store_options(dead)
    dead.add_argument("--json", action="store_true")
    dead.set_defaults(handler=_dead)
    for action, text in (("retry", "put back to pending"), ("cancel", "end for good")):
        p = group.add_parser(action, help=f"{text} one dead letter")
        add_store_options(p)
        p.add_argument("message_id")
        p.add_argument("code")
        p.set_defaults(handler=_act, action=action)
    drain = group.add_parser("drain", help="keep a closed code's pending mail for its system")
    add_store_options(drain)
    drain.add_argument("code")
    drain.add_argument("--off", action="store_true", help="move them to the successor again")
    drain.set_defaults(handler=_drain)


GROUP = CommandGroup(name="deliveries", register=register)
