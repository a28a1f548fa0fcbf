"""Sync with an official list: compare what a source states with a registry version, then apply.

``plan(registry, batch)`` is a pure function: it reads one registry version and one
:class:`~registry.sources.ImportBatch` and returns a :class:`SyncPlan` (what would be added,
renamed, moved, closed, merged, split; what conflicts) without changing anything, which is the
dry run. ``apply(registry, plan, ...)`` hands the plan's changes to
:meth:`registry.registry.Registry.apply`, which makes them ONE new version or nothing; a plan
with no changes returns the same registry (same version), so importing a file twice is a no-op.
The plan itself is :mod:`registry.sync_plan` (data), the planner :mod:`registry.sync_planner`;
this module keeps the names callers use and the apply step.

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

from datetime import datetime

from registry.model import as_utc
from registry.registry import Registry
from registry.sync_plan import (
    SUMMARY_KEYS,
    Conflict,
    PlannedChange,
    Problem,
    SyncError,
    SyncPlan,
    Tag,
    describe,
)
from registry.sync_planner import build_plan

__all__ = [
    "SUMMARY_KEYS",
    "Conflict",
    "PlannedChange",
    "Problem",
    "SyncError",
    "SyncPlan",
    "Tag",
    "apply",
    "build_plan",
    "describe",
    "plan",
]

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
