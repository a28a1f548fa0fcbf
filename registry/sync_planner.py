"""The planner of a sync: one registry version and one batch in, a :class:`SyncPlan` out.

:func:`build_plan` is a pure function (the dry run): it walks the batch's statements (agencies,
closings, successions) against the registry and decides, statement by statement, which change
each one means or why it is refused, under the matching rules of :mod:`registry.sync`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Final, Literal

from registry.model import Agency, Change, Succession, SuccessionKind, as_utc
from registry.registry import Registry
from registry.sources.batch import ImportBatch
from registry.sync_plan import Conflict, PlannedChange, SyncPlan, Tag, vn_local
from registry.text import fold_exact

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
            self.conflict("close.unknown", code, f"no record in force at {vn_local(at)} to close")
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
    start = vn_local(agency.valid_from) if agency.valid_from else "-inf"
    end = vn_local(agency.valid_until) if agency.valid_until else "+inf"
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
