"""``axis registry import FILE``: an official list read, planned (dry run) and applied as one
version, with a progress bar on stderr when it takes more than a second."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from axis.commands.registry_shared import load_all, print_json
from axis.registry_admin import Actor, commit
from axis.registry_view import RegistryView
from axis.store.protocol import Store
from registry import sources, sync
from registry.model import Change
from registry.registry import Registry
from registry.sync import Problem

PROGRESS_AFTER_SECONDS = 1.0
"""An import shows a progress bar (on stderr) only once it has run this long."""


class LazyProgress:
    """A tqdm bar on stderr that appears only after :data:`PROGRESS_AFTER_SECONDS`, so quick
    imports stay quiet and slow ones show they are alive."""

    def __init__(self, desc: str) -> None:
        self._start = time.monotonic()
        self._desc = desc
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            if time.monotonic() - self._start < PROGRESS_AFTER_SECONDS:
                return
            from tqdm import tqdm

            self._bar = tqdm(total=total or None, desc=self._desc, file=sys.stderr, unit="row")
        if total and self._bar.total != total:
            self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


@contextmanager
def _progress(desc: str) -> Iterator[Callable[[int, int], None]]:
    bar = LazyProgress(desc)
    try:
        yield bar
    finally:
        bar.close()


def _issue_dict(issue: sources.ImportIssue) -> dict[str, Any]:
    return {
        "code": issue.code,
        "message": issue.message,
        "line": issue.line,
        "field": issue.field,
        "severity": issue.severity,
    }


def _print_problems(title: str, problems: tuple[Problem, ...]) -> None:
    """Every problem, one line each, lines first (never cut: each one must be fixed)."""
    print(f"{title} ({len(problems)}):")
    for problem in problems:
        print(f"  {problem.format()}")


async def import_list(args: argparse.Namespace, store: Store) -> int:
    """Read, plan, and apply the list as ONE version; all or nothing unless ``--partial``.

    Exit 1 (nothing applied) when the list has an error row or the plan a conflict, every one
    printed with its line; ``--partial`` applies the rest and prints what it left out."""
    registry = await load_all(store)
    path = Path(args.file)
    if not path.is_file():
        print(f"error: no file {path}", file=sys.stderr)
        return 1
    now = datetime.now(UTC)
    try:
        with _progress(f"import {path.name}") as progress:
            batch = sources.read(path, format=args.format, progress=progress)
            plan = sync.build_plan(registry, batch, effective=args.effective, now=now)
    except sources.SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    problems = plan.problems()
    report: dict[str, Any] = {
        "file": str(path),
        "format": batch.format,
        "rows": batch.rows,
        "version_before": registry.version,
        "summary": plan.summary(),
        "issues": [_issue_dict(i) for i in batch.issues],
        "problems": [p.to_dict() for p in problems],
        "partial": args.partial,
    }
    if not args.json:
        print(
            f"{path.name}: {batch.rows} rows read as {batch.format},"
            f" registry version {registry.version}"
        )
        print(plan.format())  # lists the reading issues too, grouped by code
    refused = bool(problems) and not args.partial
    if args.dry_run or refused:
        report.update(dry_run=args.dry_run, refused=refused, version_after=registry.version)
        if args.json:
            print_json(report)
        elif problems:
            _print_problems("problems, each to fix before the list can be applied whole", problems)
            print(
                "dry run: nothing applied"
                if args.dry_run
                else "refused: nothing applied (fix the list, or --partial to leave these out)"
            )
        else:
            print("dry run: nothing applied")
        return 1 if problems else 0

    def build(current: Registry) -> list[Change]:
        chosen = plan
        if current.version != plan.base_version:  # another writer saved since the plan
            chosen = sync.build_plan(current, batch, effective=args.effective, now=now)
            if chosen.problems() and not args.partial:
                raise sync.SyncError("sync.refused", "the list no longer applies whole")
        return list(chosen.changes)

    outcome = await commit(
        store,
        build,
        actor=Actor(args.author),
        now=now,
        reason=args.reason or f"import {path.name} ({batch.format})",
        action="import",
        effective=args.effective,
        view=RegistryView(store, registry),
    )
    report.update(dry_run=False, refused=False, version_after=outcome.version_after)
    report["left_out"] = report["problems"]
    if args.json:
        print_json(report)
        return 0
    if problems:
        _print_problems("left out (--partial)", problems)
    if outcome.changed:
        print(f"applied: registry version {outcome.version_before} -> {outcome.version_after}")
    else:
        print(f"nothing to change: registry version stays {registry.version}")
    return 0
