"""Sync with an official list: compare what a source states with a registry version, then apply.

``plan(registry, batch)`` is a pure function: it reads one registry version and one
:class:`~registry.sources.ImportBatch` and returns a :class:`SyncPlan` (what would be added,
renamed, moved, closed, merged, split; what conflicts) without changing anything, which is the
dry run. ``apply(registry, plan, ...)`` hands the plan's changes to
:meth:`registry.registry.Registry.apply`, which makes them ONE new version or nothing; a plan
with no changes returns the same registry (same version), so importing a file twice is a no-op.

Matching rules (why they are what they are):

* A record with an explicit interval (a ``valid_from`` or a ``valid_until``) is matched by its
  key ``(code, valid_from)``: codes are re-used, so the code alone cannot say which record a row
  is about.
* A record with no dates at all ("this agency exists", the usual shape of an agency list) is about
  the record in force at the effective instant (or now): a change of name or parent updates that
  record in place, or, when an effective instant is given, closes it then and opens a new record
  from then, so history keeps the old name.
* An empty field in the source never erases a known value (lists rarely carry contacts); an
  official (non-inferred) statement replaces an inferred seed record.
* A code absent from a source is never closed: lists are often partial. Closures come only from
  explicit statements (a VDXP ``deleted`` row, a native ``close`` row, a ``valid_until``).
* A succession is accepted only when every code it names is known to the registry or to the
  batch; otherwise it is a conflict and left out (mail must never be redirected into the void).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal, get_args

from registry.errors import RegistryError
from registry.model import VN_TZ, Agency, Change, Succession, SuccessionKind, as_utc
from registry.registry import Registry
from registry.sources.batch import ImportBatch, ImportIssue
from registry.text import fold_exact

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
            + (f", effective {_local(self.effective)}" if self.effective else ""),
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


def _local(moment: datetime) -> str:
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
        return f"{change.code} -> {targets} from {_local(after.effective)}"
    if isinstance(after, Agency):
        text = f"{change.code} {after.name!r}"
        if isinstance(before, Agency) and before.name != after.name:
            text = f"{change.code} {before.name!r} -> {after.name!r}"
        if isinstance(before, Agency) and before.parent != after.parent:
            text += f" parent {before.parent} -> {after.parent}"
        if change.op == "close" and after.valid_until is not None:
            text += f" closed at {_local(after.valid_until)}"
        return text + (f" ({item.note})" if item.note else "")
    return f"{change.op} {change.code}"


# --- planning -----------------------------------------------------------------------------------

_MERGEABLE: Final = ("short_name", "kind", "parent", "admin_unit")


def _fill_from(stated: Agency, known: Agency) -> Agency:
    """``stated`` with its empty fields taken from ``known`` (a source never erases a value)."""
    fills: dict[str, object] = {
        name: getattr(known, name) for name in _MERGEABLE if not getattr(stated, name)
    }
    if not stated.contact and known.contact:
        fills["contact"] = known.contact
    if not stated.delivery and known.delivery:
        fills["delivery"] = known.delivery
    return dataclasses.replace(stated, **fills) if fills else stated  # type: ignore[arg-type]


def _content_tags(before: Agency, after: Agency) -> list[Tag]:
    tags: list[Tag] = []
    if before.name != after.name:
        tags.append("renamed")
    if before.parent != after.parent:
        tags.append("moved")
    if before.valid_until != after.valid_until and after.valid_until is not None:
        tags.append("closed")
    if before.inferred and not after.inferred:
        tags.append("replaced_inferred")
    other = (
        before.short_name != after.short_name
        or before.kind != after.kind
        or before.admin_unit != after.admin_unit
        or before.contact != after.contact
        or before.delivery != after.delivery
        or (before.valid_until != after.valid_until and after.valid_until is None)
        or before.valid_from != after.valid_from
    )
    if other or not tags:
        tags.append("updated")
    return tags


_MIN: Final = datetime.min.replace(tzinfo=UTC)
_MAX: Final = datetime.max.replace(tzinfo=UTC)


def _overlaps(a: Agency, b: Agency) -> bool:
    return (a.valid_from or _MIN) < (b.valid_until or _MAX) and (b.valid_from or _MIN) < (
        a.valid_until or _MAX
    )


class _Planner:
    def __init__(
        self, registry: Registry, batch: ImportBatch, effective: datetime | None, now: datetime
    ) -> None:
        self.registry = registry
        self.batch = batch
        self.effective = effective
        self.moment = effective or now
        self.items: list[PlannedChange] = []
        self.conflicts: list[Conflict] = []
        self.lines: tuple[int, ...] = ()
        """The source lines of the statement being planned (for its conflicts)."""
        self.unchanged = 0
        self.batch_by_code: dict[str, list[Agency]] = {}
        for stated in batch.agencies:
            self.batch_by_code.setdefault(stated.code, []).append(stated)
        # the working state of records touched by this plan, so a later statement in the same
        # batch sees the effect of an earlier one (an agency renamed, then closed)
        self.touched: dict[str, dict[tuple[str, datetime | None], Agency | None]] = {}

    def records(self, code: str) -> list[Agency]:
        base = self.registry.records(code)
        edits = self.touched.get(code)
        if not edits:
            return list(base)
        merged: dict[tuple[str, datetime | None], Agency | None] = {r.key: r for r in base}
        merged.update(edits)
        return sorted((r for r in merged.values() if r is not None), key=_start)

    def record(self, key: tuple[str, datetime | None]) -> Agency | None:
        edits = self.touched.get(key[0])
        if edits is not None and key in edits:
            return edits[key]
        return self.registry.get_record(key)

    def emit(
        self,
        op: Literal["add", "update", "close"],
        before: Agency | None,
        after: Agency,
        tags: Iterable[Tag],
        note: str = "",
    ) -> None:
        self.items.append(PlannedChange(Change(op, after.code, before, after), tuple(tags), note))
        edits = self.touched.setdefault(after.code, {})
        if before is not None and before.key != after.key:
            edits[before.key] = None
        edits[after.key] = after

    def conflict(self, code: str, subject: str, message: str) -> None:
        self.conflicts.append(Conflict(code, subject, message, self.lines))

    # agencies ---------------------------------------------------------------------------------

    def agency(self, stated: Agency) -> None:
        if stated.valid_from is None and stated.valid_until is None:
            self.current_statement(stated)
        else:
            self.dated_statement(stated)

    def update(self, before: Agency, after: Agency, note: str = "") -> None:
        if after == before:
            self.unchanged += 1
            return
        tags = _content_tags(before, after)
        only_closing = (
            dataclasses.replace(before, valid_until=after.valid_until) == after
            and before.valid_until is None
        )
        self.emit("close" if only_closing else "update", before, after, tags, note)

    def dated_statement(self, stated: Agency) -> None:
        existing = self.record(stated.key)
        if existing is not None:
            after = _fill_from(stated, existing)
            if after.valid_until is None and existing.valid_until is not None:
                # an open end means "not closed as far as this source knows", not "re-open"
                after = dataclasses.replace(after, valid_until=existing.valid_until)
            self.update(existing, after)
            return
        clashing = [r for r in self.records(stated.code) if _overlaps(r, stated)]
        if not clashing:
            self.emit("add", None, stated, ("added",))
        elif len(clashing) == 1 and clashing[0].inferred and not stated.inferred:
            self.update(clashing[0], _fill_from(stated, clashing[0]), "inferred record replaced")
        else:
            spans = ", ".join(_span(r) for r in clashing)
            self.conflict(
                "agency.overlap",
                stated.code,
                f"stated {_span(stated)} overlaps the registry's {spans}",
            )

    def current_statement(self, stated: Agency) -> None:
        records = self.records(stated.code)
        target = next((r for r in records if r.valid_at(self.moment)), None)
        if target is None:
            if not records:
                self.emit(
                    "add", None, dataclasses.replace(stated, valid_from=self.effective), ("added",)
                )
                return
            last = records[-1]
            if self.effective is not None and all(
                r.valid_until is not None and r.valid_until <= self.effective for r in records
            ):
                self.emit(
                    "add",
                    None,
                    dataclasses.replace(stated, valid_from=self.effective),
                    ("added",),
                    "code re-used",
                )
                return
            self.conflict(
                "agency.closed",
                stated.code,
                f"the source names it, the registry has it only {_span(last)}",
            )
            return
        merged = dataclasses.replace(
            _fill_from(stated, target),
            valid_from=target.valid_from,
            valid_until=target.valid_until,
        )
        if merged == target:
            self.unchanged += 1
            return
        eff = self.effective
        if eff is not None and (target.valid_from is None or target.valid_from < eff):
            # keep history: the old record ends at the effective instant, a new one starts
            closed = dataclasses.replace(target, valid_until=eff)
            opened = dataclasses.replace(merged, valid_from=eff)
            self.emit("close", target, closed, ("superseded",), "a new record takes over")
            self.emit("add", None, opened, _content_tags(target, merged))
            return
        self.update(target, merged)

    def close(self, code: str, at: datetime) -> None:
        records = self.records(code)
        if any(r.valid_until == at for r in records):
            self.unchanged += 1
            return
        target = next((r for r in records if r.valid_at(at) and r.valid_from != at), None)
        if target is None:
            self.conflict("close.unknown", code, f"no record in force at {_local(at)} to close")
            return
        self.emit("close", target, dataclasses.replace(target, valid_until=at), ("closed",))

    # successions ------------------------------------------------------------------------------

    def in_force(self, code: str, at: datetime) -> bool:
        """Whether ``code`` has a record in force at ``at``, in the batch or the registry."""
        if any(a.valid_at(at) for a in self.batch_by_code.get(code, ())):
            return True
        return any(r.valid_at(at) for r in self.records(code))

    def succession(self, stated: Succession) -> None:
        known = stated.from_code in self.batch_by_code or self.records(stated.from_code)
        if not known:
            self.conflict("succession.unknown_code", stated.from_code, "closes a code nobody knows")
            return
        missing = [s.code for s in stated.successors if not self.in_force(s.code, stated.effective)]
        if missing:
            self.conflict(
                "succession.unknown_code",
                stated.from_code,
                f"successor(s) with no record in force at "
                f"{stated.effective.isoformat()}: {', '.join(missing)}",
            )
            return
        existing = self.registry.get_succession(stated.key)
        if existing == stated:
            self.unchanged += 1
            return
        self.items.append(
            PlannedChange(
                Change("succession", stated.from_code, existing, stated),
                (_succession_tag(stated),),
                "replaces a different succession" if existing is not None else "",
            )
        )


def _inferred_namesakes(registry: Registry, planner: _Planner) -> tuple[Conflict, ...]:
    """Inferred records in force that bear the name an official statement gives another code.

    The H/K table of the seed is inferred by a collation rule that may be off by a few places: an
    official list that puts "Hà Nội" on H26 leaves the inferred H24 "Hà Nội" behind, and the
    operator should see that at once rather than find two Hà Nội later.
    """
    officials = [
        item.change.after
        for item in planner.items
        if "replaced_inferred" in item.tags and isinstance(item.change.after, Agency)
    ]
    if not officials:
        return ()
    moment = planner.moment
    replaced = {a.code for a in officials}
    by_name: dict[str, list[Agency]] = {}
    for agency in registry.agencies():
        if agency.inferred and agency.code not in replaced and agency.valid_at(moment):
            by_name.setdefault(fold_exact(agency.name), []).append(agency)
    notices: list[Conflict] = []
    for official in officials:
        for other in by_name.get(fold_exact(official.name), ()):
            notices.append(
                Conflict(
                    "inferred.namesake",
                    other.code,
                    f"inferred record named {other.name!r}, the name the list gives "
                    f"{official.code}: one of the two codes is probably wrong",
                )
            )
    return tuple(notices)


def _succession_tag(succession: Succession) -> Tag:
    kinds = {s.kind for s in succession.successors}
    if len(succession.successors) > 1 or SuccessionKind.SPLIT in kinds:
        return "split"
    if kinds == {SuccessionKind.RENAMED}:
        return "renamed"
    return "merged"


def _start(agency: Agency) -> datetime:
    return agency.valid_from or _MIN


def _span(agency: Agency) -> str:
    start = _local(agency.valid_from) if agency.valid_from else "-inf"
    end = _local(agency.valid_until) if agency.valid_until else "+inf"
    return f"[{start}, {end})"


def _line(line: int | None) -> tuple[int, ...]:
    return () if line is None else (line,)


def build_plan(
    registry: Registry,
    batch: ImportBatch,
    *,
    effective: datetime | None = None,
    now: datetime | None = None,
) -> SyncPlan:
    """The dry run of importing ``batch`` into ``registry`` (nothing is changed).

    ``effective`` schedules the statements without dates for that instant (e.g. the cut-over
    2025-07-01T00:00+07:00): new agencies start then, renamed ones are closed then and re-opened
    under the new name, VDXP deletions close then. ``now`` (default: the clock) picks the record
    "in force" for undated statements when no ``effective`` is given.
    """
    eff = None if effective is None else as_utc(effective, "effective")
    planner = _Planner(registry, batch, eff, as_utc(now or datetime.now(UTC), "now"))
    statements: dict[tuple[str, datetime | None], list[int]] = {}
    for index, stated in enumerate(batch.agencies):
        statements.setdefault(stated.key, []).append(index)
    for index, stated in enumerate(batch.agencies):
        same = statements[stated.key]
        if same[0] != index:
            continue  # planned (or refused) with the first statement of its record
        planner.lines = tuple(
            line for i in same if (line := batch.line_of("agency", i)) is not None
        )
        if len({batch.agencies[i] for i in same}) > 1:
            # which of two names is right is not the axis's guess: neither is applied
            names = "; ".join(
                f"{batch.agencies[i].name!r}"
                + (f" (line {line})" if (line := batch.line_of("agency", i)) else "")
                for i in same
            )
            dated = stated.valid_from is not None or stated.valid_until is not None
            what = f"the record {_span(stated)}" if dated else "this code"
            planner.conflict(
                "agency.duplicate",
                stated.code,
                f"the source states {what} {len(same)} times, differently: {names}; "
                "none of them is applied",
            )
            continue
        planner.agency(stated)
    for index, (code, at) in enumerate(batch.closes):
        planner.lines = _line(batch.line_of("close", index))
        planner.close(code, as_utc(at, "close instant") if at is not None else planner.moment)
    for index, succession in enumerate(batch.successions):
        planner.lines = _line(batch.line_of("succession", index))
        planner.succession(succession)
    return SyncPlan(
        base_version=registry.version,
        source=batch.source,
        source_format=batch.format,
        items=tuple(planner.items),
        conflicts=tuple(planner.conflicts),
        issues=batch.issues,
        unchanged=planner.unchanged,
        effective=eff,
        batch=batch,
        notices=_inferred_namesakes(registry, planner),
    )


plan = build_plan
"""``plan(registry, batch, effective=None)``: the name the CLI and the brief use."""


def apply(
    registry: Registry,
    plan: SyncPlan,
    author: str,
    reason: str,
    effective: datetime | None = None,
    *,
    partial: bool = False,
) -> Registry:
    """``registry`` with the plan applied as ONE new version (or ``registry`` itself when the
    plan changes nothing).

    All or nothing by default: a plan with any :meth:`SyncPlan.problems` (a row the reader
    refused, a conflict) is refused whole, :class:`SyncError` ``sync.refused`` listing them, and
    nothing changes; ``partial=True`` applies the rest and leaves exactly those out.

    The plan must have been made against this very version (a plan made against an older one
    could overwrite newer facts): otherwise :class:`SyncError` ``sync.stale_plan``. When
    ``effective`` differs from the plan's, the batch is planned again with it, so the version
    applied is the scheduled one; its ``effective`` is recorded in the version log.
    """
    if plan.base_version != registry.version:
        raise SyncError(
            "sync.stale_plan",
            f"plan made against version {plan.base_version}, registry is at {registry.version}",
        )
    eff = None if effective is None else as_utc(effective, "effective")
    if eff != plan.effective and plan.batch is not None:
        plan = build_plan(registry, plan.batch, effective=eff)
    problems = plan.problems()
    if problems and not partial:
        listed = "; ".join(p.format() for p in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        raise SyncError(
            "sync.refused",
            f"{len(problems)} problem(s) in {plan.source}, nothing applied: {listed}{more}",
            plan.source,
        )
    if plan.is_noop:
        return registry
    return registry.apply(
        plan.changes, author=author, reason=reason, effective=eff or plan.effective
    )
