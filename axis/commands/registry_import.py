"""``axis registry import FILE``: an official list read, planned (dry run) and applied as one
version, with a progress bar on stderr when it takes more than a second."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from axis.commands.registry_shared import load_all, print_json
from registry.errors import RegistryError
from registry.store import RegistryStore

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


async def import_list(args: argparse.Namespace, store: RegistryStore) -> int:
    from registry import sources, sync  # the readers and planner (their own modules)

    registry = await load_all(store)
    path = Path(args.file)
    if not path.is_file():
        print(f"error: no file {path}", file=sys.stderr)
        return 1
    try:
        with _progress(f"import {path.name}") as progress:
            batch = sources.read(path, format=args.format, progress=progress)
            plan = sync.plan(registry, batch, effective=args.effective)
    except sources.SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    issues = batch.issues
    if args.json:
        report: dict[str, Any] = {
            "file": str(path),
            "format": batch.format,
            "rows": batch.rows,
            "version_before": registry.version,
            "summary": plan.summary(),
            "issues": [
                {
                    "code": i.code,
                    "message": i.message,
                    "line": i.line,
                    "field": i.field,
                    "severity": i.severity,
                }
                for i in issues
            ],
        }
    else:
        print(
            f"{path.name}: {batch.rows} rows read as {batch.format},"
            f" registry version {registry.version}"
        )
        print(plan.format())  # lists the reading issues too, grouped by code
    if args.dry_run:
        if args.json:
            report["dry_run"] = True
            report["version_after"] = registry.version
            print_json(report)
        else:
            print("dry run: nothing applied")
        return 0
    try:
        updated = sync.apply(
            registry,
            plan,
            author=args.author,
            reason=args.reason or f"import {path.name} ({batch.format})",
            effective=args.effective,
        )
    except (sync.SyncError, RegistryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        written = await store.save_registry(updated) if updated.version != registry.version else 0
    except RegistryError as exc:  # store.diverged: another writer saved meanwhile
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        report["dry_run"] = False
        report["version_after"] = updated.version
        print_json(report)
    elif written:
        print(f"applied: registry version {registry.version} -> {updated.version}")
    else:
        print(f"nothing to change: registry version stays {registry.version}")
    return 1 if batch.errors and not args.json else 0
