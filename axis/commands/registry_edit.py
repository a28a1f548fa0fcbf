"""``axis registry add|rename|close|succeed|reopen``: one change, one new version, printed.

The commands call :mod:`axis.registry_admin`, as the API and the console do, on the deployment's
store (the embedded default, or ``--home`` / ``AXIS_STORE``): a serving node on the same store
switches to the new version by itself. The version's author is ``--author`` (default
``cli:<login>``); instants (``--at``) are read by :func:`axis.commands.parse_at`, and one ahead
of now schedules the change (stored now, in force from then).
"""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from axis import registry_admin
from axis.commands import parse_at
from axis.commands.registry_shared import on_store, print_json
from axis.commands.store_access import add_store_options
from axis.registry_admin import Actor, ChangeOutcome, WriteArgs
from axis.registry_edits import AgencyDraft
from axis.store.protocol import Store
from registry.model import VN_TZ, Agency, Succession, SuccessionKind, Successor


def default_author() -> str:
    """``cli:<login>``: who ran the command, as the change log and the audit name it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def successor_arg(text: str) -> Successor:
    """``--to CODE[:kind[:primary]]`` (kind merged when left out)."""
    bits = [b.strip() for b in text.split(":")]
    kinds = ", ".join(k.value for k in SuccessionKind)
    if not bits[0] or len(bits) > 3 or (len(bits) == 3 and bits[2] != "primary"):
        raise argparse.ArgumentTypeError(f"{text!r} is not CODE[:kind[:primary]]")
    try:
        kind = SuccessionKind(bits[1] if len(bits) > 1 and bits[1] else "merged")
    except ValueError:
        raise argparse.ArgumentTypeError(f"kind {bits[1]!r} is not one of {kinds}") from None
    return Successor(bits[0].upper(), kind, len(bits) == 3)


def _local(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(VN_TZ).strftime("%Y-%m-%d %H:%M +07")


def _describe(outcome: ChangeOutcome) -> list[str]:
    lines: list[str] = []
    for change in outcome.changes:
        after = change.after or change.before
        if isinstance(after, Agency):
            span = f"{_local(after.valid_from)} .. {_local(after.valid_until)}"
            lines.append(f"  {change.op:<17} {change.code}  {after.name}  [{span}]")
        elif isinstance(after, Succession):
            targets = ", ".join(
                f"{s.code} ({s.kind.value}{', primary' if s.primary else ''})"
                for s in after.successors
            )
            lines.append(
                f"  {change.op:<17} {change.code} -> {targets}  from {_local(after.effective)}"
            )
    return lines


def _report(args: argparse.Namespace, outcome: ChangeOutcome, what: str) -> int:
    if args.json:
        print_json(outcome.to_dict())
        return 0
    if not outcome.changed:
        print(f"{what}: nothing to change, registry version stays {outcome.version_after}")
        return 0
    print(f"{what}: registry version {outcome.version_before} -> {outcome.version_after}")
    for line in _describe(outcome):
        print(line)
    return 0


Edit = Callable[[argparse.Namespace, Store, WriteArgs], Awaitable[ChangeOutcome]]


def _edit(what: Callable[[argparse.Namespace], str], edit: Edit) -> Callable[..., int]:
    async def command(args: argparse.Namespace, store: Store) -> int:
        write = WriteArgs(
            actor=Actor(args.author), now=datetime.now(UTC), reason=args.reason, view=None
        )
        return _report(args, await edit(args, store, write), what(args))

    return on_store(command)


async def _add(args: argparse.Namespace, store: Store, write: WriteArgs) -> ChangeOutcome:
    contact = {
        key: value
        for key, value in (("email", args.email), ("phone", args.phone), ("address", args.address))
        if value
    }
    draft = AgencyDraft(
        code=args.code,
        name=args.name,
        short_name=args.short_name or "",
        kind=args.kind or "",
        parent=args.parent,
        contact=contact,
        valid_from=args.at,
    )
    return await registry_admin.add_agency(store, draft, **write)


async def _rename(args: argparse.Namespace, store: Store, write: WriteArgs) -> ChangeOutcome:
    return await registry_admin.rename_agency(
        store, args.code, args.name, short_name=args.short_name, at=args.at, **write
    )


async def _close(args: argparse.Namespace, store: Store, write: WriteArgs) -> ChangeOutcome:
    return await registry_admin.close_agency(
        store, args.code, at=args.at, successors=args.to, legal_basis=args.legal_basis, **write
    )


async def _succeed(args: argparse.Namespace, store: Store, write: WriteArgs) -> ChangeOutcome:
    return await registry_admin.set_successors(
        store, args.code, args.to, at=args.at, legal_basis=args.legal_basis, **write
    )


async def _reopen(args: argparse.Namespace, store: Store, write: WriteArgs) -> ChangeOutcome:
    return await registry_admin.reopen_agency(store, args.code, at=args.at, **write)


def _titled(word: str) -> Callable[[argparse.Namespace], str]:
    def title(args: argparse.Namespace) -> str:
        return f"{word} {args.code.upper()}"

    return title


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--author", default=default_author(), help="who (default cli:<login>)")
    parser.add_argument("--reason", default="", help="why (the change log and the audit)")
    parser.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    add_store_options(parser)


def register(cmds: Any) -> None:
    """Adds ``add``, ``rename``, ``close``, ``succeed`` and ``reopen`` under ``axis registry``."""
    p = cmds.add_parser("add", help="add an agency or a sub-unit (e.g. 000.00.07.H38)")
    p.add_argument("code")
    p.add_argument("name")
    p.add_argument("--short-name", default="")
    p.add_argument("--kind", default="", help="e.g. department, people_committee")
    p.add_argument("--parent", default=None, help="default: the code's structural parent")
    p.add_argument("--email", default="")
    p.add_argument("--phone", default="")
    p.add_argument("--address", default="")
    p.add_argument("--at", type=parse_at, default=None, help="in force from (default: now)")
    _common(p)
    p.set_defaults(handler=_edit(lambda a: f"added {a.code.upper()}", _add))

    p = cmds.add_parser("rename", help="a new name: in place, or from --at keeping history")
    p.add_argument("code")
    p.add_argument("name")
    p.add_argument("--short-name", default=None)
    p.add_argument("--at", type=parse_at, default=None, help="from when (history is kept)")
    _common(p)
    p.set_defaults(handler=_edit(lambda a: f"renamed {a.code.upper()}", _rename))

    for name, text, handler in (
        ("close", "close CODE at --at (default now), its work passing to --to", _close),
        ("succeed", "name (or replace) the successors of CODE", _succeed),
    ):
        p = cmds.add_parser(name, help=text)
        p.add_argument("code")
        p.add_argument(
            "--to",
            type=successor_arg,
            action="append",
            default=[],
            required=name == "succeed",
            metavar="CODE[:kind[:primary]]",
            help="a successor (repeat for several; kind merged|renamed|split|absorbed)",
        )
        p.add_argument("--at", type=parse_at, default=None, help="when (ahead = scheduled)")
        p.add_argument("--legal-basis", default="", help="e.g. QĐ 09/2025/QĐ-TTg")
        _common(p)
        p.set_defaults(handler=_edit(_titled(name), handler))

    p = cmds.add_parser("reopen", help="undo the closing of CODE, or bring it back from --at")
    p.add_argument("code")
    p.add_argument("--at", type=parse_at, default=None)
    _common(p)
    p.set_defaults(handler=_edit(lambda a: f"reopened {a.code.upper()}", _reopen))
