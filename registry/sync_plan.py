"""The plan of a sync with an official list: what it would change, and what it refuses.

:class:`SyncPlan` is the dry run :func:`registry.sync_planner.build_plan` makes and
:func:`registry.sync.apply` applies: the planned changes, each tagged with what it means for a
person (added, renamed, moved, closed, merged, split, ...), the statements refused as
:class:`Conflict` (left out of the plan), the reader's issues, and the :class:`Problem` list an
import is refused for (its API and CLI form). Nothing here reads a registry: a plan is data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal, get_args

from registry.errors import RegistryError
from registry.model import VN_TZ, Agency, Change, Succession
from registry.sources.batch import ImportBatch, ImportIssue

Tag = Literal[
    "added",
    "renamed",
    "moved",
    "updated",
    "closed",
    "merged",
    "split",
    "replaced_inferred",
    "superseded",
]

SUMMARY_KEYS: Final[tuple[str, ...]] = (
    *get_args(Tag),
    "unchanged",
    "conflicts",
    "notices",
    "changes",
    "errors",
    "warnings",
)
"""The keys of :meth:`SyncPlan.summary`, always all present, in this order."""


class SyncError(RegistryError, RuntimeError):
    """A plan that cannot be applied; ``code`` is stable (``sync.stale_plan``, ...)."""


@dataclass(frozen=True, slots=True)
class Conflict:
    """A statement of the source that the plan refuses to apply, and why.

    ``code`` is stable: ``agency.overlap`` (a record whose interval overlaps a different record
    of the same code), ``agency.closed`` (the source names a code the registry has closed),
    ``agency.duplicate`` (the source states one record twice, differently), ``close.unknown``,
    ``succession.unknown_code`` (a succession naming a code nobody knows).
    """

    code: str
    subject: str
    message: str
    lines: tuple[int, ...] = ()
    """The source lines (CSV) or item numbers (JSON) of the statements concerned, when known."""

    def format(self) -> str:
        """One human line: ``lines 2, 3: [agency.duplicate] 000.00.01.H38: ...``."""
        return f"{_where(self.lines)}[{self.code}] {self.subject}: {self.message}"


def _where(lines: tuple[int, ...]) -> str:
    if not lines:
        return ""
    return f"line {lines[0]}: " if len(lines) == 1 else f"lines {', '.join(map(str, lines))}: "


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason an import is refused: a row the reader could not take (``error``) or a
    statement the plan cannot apply (``conflict``), with its source lines."""

    kind: Literal["error", "conflict"]
    code: str
    message: str
    lines: tuple[int, ...] = ()
    field: str | None = None
    subject: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the API's 422 ``problems``, ``--json``)."""
        return {
            "kind": self.kind,
            "code": self.code,
            "message": self.message,
            "line": self.lines[0] if self.lines else None,
            "lines": list(self.lines),
            "field": self.field,
            "subject": self.subject,
        }

    def format(self) -> str:
        """One human line, lines first."""
        column = f" ({self.field})" if self.field else ""
        subject = f"{self.subject}: " if self.subject else ""
        where = _where(self.lines) or "file: "
        return f"{where.rstrip(': ')}{column}: {self.kind} [{self.code}] {subject}{self.message}"


@dataclass(frozen=True, slots=True)
class PlannedChange:
    """One change of the plan with what it means for a person (one or more tags)."""

    change: Change
    tags: tuple[Tag, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """What applying a batch to ``base_version`` would do (see the module docstring)."""

    base_version: int
    source: str
    source_format: str
    items: tuple[PlannedChange, ...]
    conflicts: tuple[Conflict, ...]
    issues: tuple[ImportIssue, ...]
    unchanged: int
    effective: datetime | None = None
    batch: ImportBatch | None = field(default=None, repr=False, compare=False)
    notices: tuple[Conflict, ...] = ()
    """Things applied but worth a look (``inferred.namesake``: an inferred record still bears the
    name an official statement just gave another code)."""

    @property
    def changes(self) -> tuple[Change, ...]:
        """The changes to hand to :meth:`Registry.apply`, in order."""
        return tuple(item.change for item in self.items)

    @property
    def is_noop(self) -> bool:
        """Whether applying this plan would leave the registry as it is."""
        return not self.items

    def problems(self) -> tuple[Problem, ...]:
        """Every reason to refuse this import, in source order: the reader's error rows (left
        out of the batch) and the plan's conflicts (left out of the plan). An import is applied
        whole only when there are none; a partial apply leaves exactly these out."""
        found = [
            Problem("error", i.code, i.message, () if i.line is None else (i.line,), i.field)
            for i in self.issues
            if i.severity == "error"
        ]
        found += [
            Problem("conflict", c.code, c.message, c.lines, None, c.subject) for c in self.conflicts
        ]
        return tuple(sorted(found, key=lambda p: p.lines[0] if p.lines else 0))

    def summary(self) -> dict[str, int]:
        """Counts by kind of change (a change may count under several kinds, e.g. renamed and
        moved), plus unchanged records, conflicts, changes, and the reader's errors/warnings."""
        tags: Counter[str] = Counter(tag for item in self.items for tag in item.tags)
        counts = {key: tags.get(key, 0) for key in SUMMARY_KEYS}
        counts["unchanged"] = self.unchanged
        counts["conflicts"] = len(self.conflicts)
        counts["notices"] = len(self.notices)
        counts["changes"] = len(self.items)
        counts["errors"] = sum(1 for i in self.issues if i.severity == "error")
        counts["warnings"] = sum(1 for i in self.issues if i.severity == "warning")
        return counts

    def format(self, *, limit: int = 10) -> str:
        """The plan for a person: the counts, then up to ``limit`` examples of each kind, the
        conflicts and the reader's issues (grouped by code when there are many)."""
        counts = self.summary()
        lines = [
            f"Sync plan for {self.source} ({self.source_format}) against registry version "
            f"{self.base_version}"
            + (f", effective {vn_local(self.effective)}" if self.effective else ""),
            "  " + "  ".join(f"{key} {counts[key]}" for key in SUMMARY_KEYS),
        ]
        if self.is_noop:
            lines.append("  Nothing to change: the registry already states all of this.")
        by_tag: dict[str, list[PlannedChange]] = {key: [] for key in SUMMARY_KEYS}
        for item in self.items:
            by_tag[item.tags[0]].append(item)
        for tag, items in by_tag.items():
            if not items:
                continue
            lines.append(f"{tag} ({len(items)}):")
            lines.extend(f"  {describe(item)}" for item in items[:limit])
            if len(items) > limit:
                lines.append(f"  ... and {len(items) - limit} more")
        if self.conflicts:
            lines.append(f"conflicts ({len(self.conflicts)}), not applied:")
            lines.extend(f"  {c.format()}" for c in self.conflicts[:limit])
            if len(self.conflicts) > limit:
                lines.append(f"  ... and {len(self.conflicts) - limit} more")
        if self.notices:
            lines.append(f"notices ({len(self.notices)}), applied but check:")
            lines.extend(f"  [{n.code}] {n.subject}: {n.message}" for n in self.notices[:limit])
            if len(self.notices) > limit:
                lines.append(f"  ... and {len(self.notices) - limit} more")
        if self.issues:
            issue_counts = Counter((i.severity, i.code) for i in self.issues)
            lines.append(f"source issues ({len(self.issues)}):")
            for (severity, code), count in sorted(issue_counts.items()):
                first = next(i for i in self.issues if i.code == code)
                lines.append(f"  {count} x {severity} [{code}], e.g. {first.format()}")
        return "\n".join(lines)


def vn_local(moment: datetime) -> str:
    """An instant as Vietnamese law states it: local time, ``2025-07-01T00:00+07:00``."""
    return moment.astimezone(VN_TZ).isoformat(timespec="minutes")


def describe(item: PlannedChange) -> str:
    """One planned change for a person: ``000.00.01.H38 'Old' -> 'New'``."""
    change = item.change
    after, before = change.after, change.before
    if isinstance(after, Succession):
        targets = ", ".join(
            f"{s.code} ({s.kind.value}{', primary' if s.primary else ''})" for s in after.successors
        )
        return f"{change.code} -> {targets} from {vn_local(after.effective)}"
    if isinstance(after, Agency):
        text = f"{change.code} {after.name!r}"
        if isinstance(before, Agency) and before.name != after.name:
            text = f"{change.code} {before.name!r} -> {after.name!r}"
        if isinstance(before, Agency) and before.parent != after.parent:
            text += f" parent {before.parent} -> {after.parent}"
        if change.op == "close" and after.valid_until is not None:
            text += f" closed at {vn_local(after.valid_until)}"
        return text + (f" ({item.note})" if item.note else "")
    return f"{change.op} {change.code}"
