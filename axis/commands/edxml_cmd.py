"""CLI group ``edxml``: ``axis edxml check FILE...`` and ``axis edxml show FILE``.

``check`` exits 0 when every file is free of errors, 1 when any file has an error (warnings do not
count), 2 when a file cannot be read at all (missing, unreadable). Problems print one per line as
``file: severity code at location: message`` so they can be grepped, or as JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import enum
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import edxml
from axis.commands import CommandGroup
from edxml import Document, Mode, Package, Payload, Severity, Status


@dataclass(frozen=True, slots=True)
class FileCheck:
    """The outcome of checking one file."""

    path: Path
    result: edxml.CheckResult | None
    read_error: str | None = None

    @property
    def kind(self) -> str:
        if self.result is None or self.result.package is None:
            return "-"
        return "status" if isinstance(self.result.package, Status) else "document"

    @property
    def verdict(self) -> str:
        if self.result is None:
            return "unreadable"
        return "ok" if self.result.ok else "refused"


def check_files(files: Sequence[Path], *, strict: bool) -> list[FileCheck]:
    """Check each file; a file that cannot be opened is reported, not raised."""
    mode = Mode.STRICT if strict else Mode.TOLERANT
    results = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            results.append(FileCheck(path, None, f"{exc.strerror or exc}"))
            continue
        results.append(FileCheck(path, edxml.check(data, mode=mode)))
    return results


def print_table(results: Sequence[FileCheck]) -> None:
    """One row per file: verdict, kind, error and warning counts, first error code."""
    width = max((len(r.path.name) for r in results), default=4)
    print(
        f"{'file':<{width}}  {'verdict':<10} {'kind':<8} {'errors':>6} {'warnings':>8}  first error"
    )
    for item in results:
        problems = item.result.problems if item.result else ()
        errors = [p for p in problems if p.severity is Severity.ERROR]
        warnings = len(problems) - len(errors)
        first = errors[0].code if errors else (item.read_error or "")
        print(
            f"{item.path.name:<{width}}  {item.verdict:<10} {item.kind:<8} "
            f"{len(errors):>6} {warnings:>8}  {first}"
        )
    accepted = sum(1 for r in results if r.verdict == "ok")
    print(f"{accepted} of {len(results)} accepted")


def _exit_code(results: Sequence[FileCheck]) -> int:
    if any(r.result is None for r in results):
        return 2
    return 0 if all(r.result is not None and r.result.ok for r in results) else 1


def _check(args: argparse.Namespace) -> int:
    results = check_files(args.files, strict=args.strict)
    if args.json:
        payload = [
            {
                "file": str(r.path),
                "verdict": r.verdict,
                "kind": r.kind,
                "read_error": r.read_error,
                "problems": [
                    dataclasses.asdict(p) for p in (r.result.problems if r.result else ())
                ],
            }
            for r in results
        ]
        json.dump(payload, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return _exit_code(results)
    for item in results:
        if item.result is None:
            print(f"{item.path}: unreadable: {item.read_error}")
            continue
        shown = [p for p in item.result.problems if args.warnings or p.severity is Severity.ERROR]
        print(f"{item.path}: {item.verdict} ({item.kind})")
        for problem in shown:
            print(f"  {problem.severity} {problem.code} at {problem.location}: {problem.message}")
    return _exit_code(results)


def _plain(value: Any) -> Any:
    """The model as JSON-ready data (dates as ISO text, payloads as size and digest)."""
    if isinstance(value, Payload):
        return {"size": value.size, "sha256": value.sha256}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name.rstrip("_"): _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.compare
        }
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _describe(package: Package) -> list[str]:
    if isinstance(package, Status):
        response = package.response_for
        return [
            f"status package {package.status_code.value} ({package.status_code.name.lower()})",
            f"  from      {package.from_.organ_id}  {package.from_.organ_name or ''}",
            f"  answers   {response.document_id or '?'} (issued by {response.organ_id or '?'})",
            f"  at        {package.timestamp.isoformat(' ') if package.timestamp else '?'}",
            f"  text      {package.description or ''}",
        ]
    assert isinstance(package, Document)
    header = package.header
    lines = [
        f"document package ({package.business_doc_type.name.lower()})",
        f"  id        {header.document_id or '?'}",
        f"  from      {header.from_.organ_id}  {header.from_.organ_name or ''}",
    ]
    lines += [f"  to        {org.organ_id}  {org.organ_name or ''}" for org in header.to]
    lines.append(f"  subject   {header.subject or ''}")
    if header.promulgation_info and header.promulgation_info.date:
        lines.append(f"  issued    {header.promulgation_info.date.isoformat()}")
    lines.append(f"  signature {package.signature.value}")
    for attachment in package.attachments:
        size = attachment.payload.size if attachment.payload else 0
        lines.append(
            f"  attached  {attachment.name or attachment.content_id}  "
            f"{attachment.content_type or '?'}  {size} bytes"
        )
    return lines


def _show(args: argparse.Namespace) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(f"{args.file}: unreadable: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        package = edxml.parse(data)
    except edxml.EdxmlError as exc:
        for problem in exc.problems:
            print(f"{args.file}: {problem}", file=sys.stderr)
        return 1
    if args.json:
        json.dump(_plain(package), sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print("\n".join(_describe(package)))
    return 0


def register(sub: Any) -> None:
    """Add ``axis edxml check`` and ``axis edxml show``."""
    group = sub.add_parser("edxml", help="read, check and show edXML packages")
    verbs = group.add_subparsers(dest="verb", required=True, metavar="VERB")
    check = verbs.add_parser("check", help="validate files; exit 1 if any has an error")
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    check.add_argument("--strict", action="store_true", help="judge in strict mode")
    check.add_argument("--warnings", action="store_true", help="print warnings too")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(handler=_check)
    show = verbs.add_parser("show", help="print what a package says")
    show.add_argument("file", type=Path, metavar="FILE")
    show.add_argument("--json", action="store_true", help="the whole model as JSON")
    show.set_defaults(handler=_show)


GROUP = CommandGroup(name="edxml", register=register)
