"""Applying one change-log entry to a registry's working state, and the checks that guard it.

:meth:`registry.Registry.apply` copies its two record maps, runs :func:`apply_change` for each
change and :func:`check_overlaps` once, and only then builds the next version: a refused change
raises :class:`~registry.errors.ChangeError` before anything is visible, so a version is all or
nothing.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from registry.errors import ChangeError
from registry.model import Agency, Change, Succession

_MIN: Final = datetime.min.replace(tzinfo=UTC)


def record_sort_key(agency: Agency) -> datetime:
    """Records of one code in time order (an open start sorts first)."""
    return agency.valid_from or _MIN


def _apply_agency_change(
    change: Change, agencies: dict[tuple[str, datetime | None], Agency], where: str
) -> bool:
    before, after = change.before, change.after
    if not isinstance(after, Agency) or (before is not None and not isinstance(before, Agency)):
        raise ChangeError("registry.bad_change", "agency ops carry Agency records", where)
    if after.code != change.code:
        raise ChangeError("registry.bad_change", "after.code differs from the code", where)
    if change.op == "add":
        existing = agencies.get(after.key)
        if existing == after:
            return False
        if existing is not None:
            raise ChangeError("registry.exists", f"{after.key} is already present", where)
        agencies[after.key] = after
        return True
    if before is None:
        raise ChangeError("registry.bad_change", f"{change.op} needs a before record", where)
    current = agencies.get(before.key)
    if current is None:
        if agencies.get(after.key) == after:
            return False
        raise ChangeError("registry.missing", f"no record {before.key}", where)
    if current != before:
        if current == after:
            return False
        raise ChangeError("registry.stale", "before differs from the stored record", where)
    if before == after:
        return False
    del agencies[before.key]
    if after.key in agencies:
        raise ChangeError("registry.exists", f"{after.key} is already present", where)
    agencies[after.key] = after
    return True


def apply_change(
    change: Change,
    agencies: dict[tuple[str, datetime | None], Agency],
    successions: dict[tuple[str, datetime], Succession],
    where: str,
) -> bool:
    """Applies one change to the working dicts; returns whether it changed anything.

    Each change must start from the current state (``before`` equal to the stored record), so a
    plan made against an older version cannot silently overwrite newer facts; a change whose
    effect is already there is a no-op, which makes re-imports no-ops.
    """
    before, after = change.before, change.after
    if change.op in ("add", "update", "close"):
        return _apply_agency_change(change, agencies, where)
    if change.op == "succession":
        if not isinstance(after, Succession):
            raise ChangeError("registry.bad_change", "succession needs a Succession", where)
        existing = successions.get(after.key)
        if existing == after:
            return False
        if existing is not None and existing != before:
            raise ChangeError(
                "registry.stale", f"succession {after.key} differs from before", where
            )
        successions[after.key] = after
        return True
    if change.op == "remove_succession":
        if not isinstance(before, Succession):
            raise ChangeError("registry.bad_change", "remove needs a before Succession", where)
        if before.key not in successions:
            return False
        if successions[before.key] != before:
            raise ChangeError("registry.stale", "before differs from the stored one", where)
        del successions[before.key]
        return True
    raise ChangeError("registry.bad_change", f"unknown op {change.op!r}", where)


def check_overlaps(agencies: Mapping[tuple[str, datetime | None], Agency], codes: set[str]) -> None:
    """Two records of one code in force at once would make ``resolve`` guess: refuse that."""
    by_code: dict[str, list[Agency]] = {code: [] for code in codes}
    for agency in agencies.values():
        bucket = by_code.get(agency.code)
        if bucket is not None:
            bucket.append(agency)
    for code, records in by_code.items():
        records.sort(key=record_sort_key)
        for older, newer in itertools.pairwise(records):
            if older.valid_until is None or older.valid_until > record_sort_key(newer):
                raise ChangeError(
                    "registry.overlap",
                    f"two records of {code} overlap: from {older.valid_from} and "
                    f"from {newer.valid_from}",
                    code,
                )
