"""CLI group ``registry``: resolve, show, search, diff, export and import the agency registry, and
change it one agency at a time (add, rename, close, succeed, reopen: ``registry_edit``).

Every command works against the deployment's store (``axis.resources.open_store`` with the
configuration of the environment; ``--home`` overrides its home). The first command against an
empty store seeds it with the packaged seed, explicitly, and says so on stderr. A lookup by code
(``resolve``, ``show``) loads only the records it needs (:func:`registry.partial.load_for`: a few
rows instead of the whole registry); ``search``, ``diff``, ``export`` and ``import`` load it all.
Output is for a person by default (instants in Vietnam time, where legal dates live) and JSON with
``--json``. Every instant option is read by :func:`axis.commands.parse_at` (a time without offset
is Vietnam time). Exit codes: 0 success, 1 the question has no single answer (a code that does
not resolve, an unknown code, import errors), 2 bad usage.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from datetime import UTC, datetime
from typing import Any

from axis.commands import CommandGroup, parse_at, registry_edit
from axis.commands.registry_edit import default_author
from axis.commands.registry_import import import_list
from axis.commands.registry_shared import (
    load_all,
    load_codes,
    on_store,
    print_json,
)
from axis.commands.store_access import add_store_options
from axis.registry_reads import resolution_dict
from registry.model import (
    VN_TZ,
    Agency,
    Succession,
    agency_to_dict,
    change_to_dict,
    succession_to_dict,
    version_info_to_dict,
)
from registry.store import RegistryStore
from registry.versions import VersionError, diff, registry_at_version

# --- helpers ------------------------------------------------------------------------------------

# A record is keyed by (code, valid_from): those say which record it is, not what changed.
_RECORD_KEY = frozenset({"code", "valid_from"})


def show_time(moment: datetime | None, empty: str = "-") -> str:
    """An instant as Vietnam wall time: ``2025-07-01 00:00 +07``."""
    if moment is None:
        return empty
    return moment.astimezone(VN_TZ).strftime("%Y-%m-%d %H:%M +07")


def _interval(agency: Agency) -> str:
    """The validity of a record in words: ``(from 2025-07-01 00:00 +07)``."""
    start, end = agency.valid_from, agency.valid_until
    if start is None and end is None:
        return "(no validity limits)"
    if end is None:
        return f"(from {show_time(start)})"
    if start is None:
        return f"(until {show_time(end)})"
    return f"({show_time(start)} .. {show_time(end)})"


# --- the store ----------------------------------------------------------------------------------


_resolution_dict = resolution_dict


_STATUS_TEXT = {
    "active": "active (the code itself is in force)",
    "redirected": "redirected to its successor",
    "ambiguous": "AMBIGUOUS: split between several successors, none primary",
    "unknown": "UNKNOWN code",
    "closed_no_successor": "CLOSED with no successor",
    "cycle": "CYCLE in the succession chain (data error)",
    "not_yet_valid": "NOT YET VALID at that instant",
}


def _succession_line(succ: Succession) -> str:
    targets = ", ".join(
        f"{s.code} ({s.kind.value}{', primary' if s.primary else ''})" for s in succ.successors
    )
    basis = f"  [{succ.legal_basis}]" if succ.legal_basis else ""
    return f"{succ.from_code} -> {targets}  from {show_time(succ.effective)}{basis}"


# --- resolve / show / search ---------------------------------------------------------------------


async def _resolve(args: argparse.Namespace, store: RegistryStore) -> int:
    registry = await load_codes(store, [args.code])
    at: datetime = args.at or datetime.now(UTC)
    res = registry.resolve(args.code, at, addressed_at=args.addressed_at)
    if args.json:
        print_json({"version": registry.version, **_resolution_dict(res)})
        return 0 if res.ok else 1
    print(f"{res.requested} at {show_time(res.at)}: {_STATUS_TEXT[res.status]}")
    if res.status == "redirected" and res.last_known is not None:
        closed = res.last_known
        print(f"  was {closed.code}  {closed.name}  {_interval(closed)}")
    for hop in res.hops:
        basis = f"  [{hop.legal_basis}]" if hop.legal_basis else ""
        print(
            f"  {hop.from_code} -> {hop.to_code}  {hop.kind.value},"
            f" from {show_time(hop.effective)}{basis}"
        )
    if res.agency is not None:
        print(f"  => {res.agency.code}  {res.agency.name}  {_interval(res.agency)}")
    elif res.candidates:
        print("  candidates (set a primary successor to route automatically):")
        for code in res.candidates:
            agency = registry.get(code, res.at)
            print(f"    {code}  {agency.name if agency else '?'}")
    elif res.last_known is not None:
        print(
            f"  last known: {res.last_known.code}  {res.last_known.name}"
            f"  {_interval(res.last_known)}"
        )
    print(f"  (registry version {registry.version})")
    return 0 if res.ok else 1


async def _show(args: argparse.Namespace, store: RegistryStore) -> int:
    registry = await load_codes(store, [args.code])
    records = registry.records(args.code)
    closes = registry.successions_of(args.code)
    takes = registry.predecessors_of(args.code)
    if args.json:
        print_json(
            {
                "version": registry.version,
                "code": args.code,
                "records": [agency_to_dict(a) for a in records],
                "successions": [succession_to_dict(s) for s in closes],
                "predecessors": [succession_to_dict(s) for s in takes],
            }
        )
        return 0 if records or closes else 1
    if not records and not closes:
        print(f"{args.code}: not in the registry (version {registry.version})")
        return 1
    for agency in records:
        print(f"{agency.code}  {agency.name}")
        print(f"  valid       {_interval(agency)}")
        for label, value in (
            ("short name", agency.short_name),
            ("kind", agency.kind),
            ("parent", agency.parent),
            ("admin unit", agency.admin_unit),
        ):
            if value:
                print(f"  {label:<11} {value}")
        for key, value in agency.contact.items():
            print(f"  contact     {key}: {value}")
        for key, value in agency.delivery.items():
            print(f"  delivery    {key}: {value}")
        if agency.inferred:
            print("  inferred    yes (seed fact from a rule; an official import replaces it)")
    for succ in closes:
        print(f"  closed: {_succession_line(succ)}")
    for succ in takes:
        print(f"  successor of: {_succession_line(succ)}")
    print(f"  (registry version {registry.version})")
    return 0


async def _search(args: argparse.Namespace, store: RegistryStore) -> int:
    registry = await load_all(store)
    hits = registry.search(args.text, limit=args.limit, at=args.at)
    if args.json:
        print_json(
            {
                "version": registry.version,
                "query": args.text,
                "results": [agency_to_dict(a) for a in hits],
            }
        )
        return 0
    if not hits:
        print(f"no agency matches {args.text!r}")
        return 0
    width = max(len(a.code) for a in hits)
    for agency in hits:
        print(f"{agency.code:<{width}}  {agency.name}  {_interval(agency)}")
    return 0


# --- diff / export -------------------------------------------------------------------------------


async def _diff(args: argparse.Namespace, store: RegistryStore) -> int:
    latest = await load_all(store)
    try:
        older = registry_at_version(latest, args.a)
        newer = registry_at_version(latest, args.b)
    except VersionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    result = diff(older, newer)
    if args.json:
        print_json(result.to_dict())
        return 0
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result.counts().items())
    print(f"diff v{args.a} -> v{args.b}: {counts}")
    for agency in result.added:
        print(f"  + {agency.code}  {agency.name}  {_interval(agency)}")
    for agency in result.removed:
        print(f"  - {agency.code}  {agency.name}  {_interval(agency)}")
    for before, after in result.changed:
        fields = [
            f.name
            for f in dataclasses.fields(Agency)
            if f.name not in _RECORD_KEY and getattr(before, f.name) != getattr(after, f.name)
        ]
        print(f"  ~ {after.code}  {after.name}  changed: {', '.join(fields)}")
    for succ in result.successions_added:
        print(f"  + succession {_succession_line(succ)}")
    for succ in result.successions_removed:
        print(f"  - succession {_succession_line(succ)}")
    for _, succ in result.successions_changed:
        print(f"  ~ succession {_succession_line(succ)}")
    return 0


async def _export(args: argparse.Namespace, store: RegistryStore) -> int:
    registry = await load_all(store)
    if args.since is not None:
        try:
            versions = registry.log.since(args.since)
        except VersionError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        if args.json:
            print_json(
                {
                    "since": args.since,
                    "version": registry.version,
                    "versions": [version_info_to_dict(v, with_changes=False) for v in versions],
                    "changes": [change_to_dict(c) for v in versions for c in v.changes],
                }
            )
            return 0
        print(f"changes since v{args.since} (now v{registry.version}):")
        for info in versions:
            print(
                f"v{info.number}  {show_time(info.created_at)}  {info.author}: {info.reason}"
                f"  ({len(info.changes)} changes)"
            )
            for change in info.changes:
                record = change.after or change.before
                name = record.name if isinstance(record, Agency) else ""
                print(f"    {change.op:<17} {change.code}  {name}")
        return 0
    if args.json:
        print_json(
            {
                "format": "axis-registry/1",
                "version": registry.version,
                "agencies": [agency_to_dict(a) for a in registry.agencies()],
                "successions": [succession_to_dict(s) for s in registry.successions()],
            }
        )
        return 0
    print(f"registry version {registry.version}: {len(registry)} records")
    for agency in registry.agencies():
        print(f"{agency.code}\t{agency.name}\t{_interval(agency)}")
    for succ in registry.successions():
        print(f"succession\t{_succession_line(succ)}")
    return 0


# --- registration --------------------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable JSON on stdout")
    add_store_options(parser)


def _version_number(text: str) -> int:
    try:
        number = int(text.lstrip("v"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a version number") from exc
    if number < 0:
        raise argparse.ArgumentTypeError("version numbers start at 0")
    return number


def register(sub: Any) -> None:
    """Adds ``axis registry {import,resolve,show,search,diff,export}`` and the single changes
    ``add, rename, close, succeed, reopen`` (:mod:`axis.commands.registry_edit`)."""
    parser = sub.add_parser("registry", help="the agency registry: codes, successors, sync")
    cmds = parser.add_subparsers(dest="registry_command", required=True, metavar="SUBCOMMAND")

    p = cmds.add_parser("resolve", help="the agency that does CODE's work at an instant")
    p.add_argument("code")
    p.add_argument("--at", type=parse_at, default=None, help="date or ISO datetime (default: now)")
    p.add_argument(
        "--addressed-at",
        type=parse_at,
        default=None,
        help="when the sender wrote the code (the document's date): a re-used code is read with "
        "the meaning it had then",
    )
    _common(p)
    p.set_defaults(handler=on_store(_resolve))

    p = cmds.add_parser("show", help="every record of CODE, its successions and predecessors")
    p.add_argument("code")
    _common(p)
    p.set_defaults(handler=on_store(_show))

    p = cmds.add_parser("search", help="agencies by name (with or without diacritics)")
    p.add_argument("text")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--at", type=parse_at, default=None, help="only records in force then")
    _common(p)
    p.set_defaults(handler=on_store(_search))

    p = cmds.add_parser("diff", help="what changed between versions A and B")
    p.add_argument("a", type=_version_number)
    p.add_argument("b", type=_version_number)
    _common(p)
    p.set_defaults(handler=on_store(_diff))

    p = cmds.add_parser("export", help="the whole registry, or the changes since a version")
    p.add_argument("--since", type=_version_number, default=None)
    _common(p)
    p.set_defaults(handler=on_store(_export))

    p = cmds.add_parser("import", help="import an official list: plan (dry run) or apply")
    p.add_argument("file")
    p.add_argument("--format", default=None, help="source format (default: detected)")
    p.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    p.add_argument("--effective", type=parse_at, default=None, help="when the changes take effect")
    p.add_argument(
        "--partial",
        action="store_true",
        help="apply what can be applied and list what is left out (default: all or nothing)",
    )
    p.add_argument(
        "--author", default=default_author(), help="who makes this change (default cli:<login>)"
    )
    p.add_argument("--reason", default="", help="why (for the change log)")
    _common(p)
    p.set_defaults(handler=on_store(import_list))
    registry_edit.register(cmds)


GROUP = CommandGroup(name="registry", register=register)
