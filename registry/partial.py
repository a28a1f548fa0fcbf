"""A registry of only what a lookup needs: the codes asked for and everything they lead to.

A CLI lookup (``axis registry resolve H63``) needs a handful of records, not the 14,387 of the
seed: loading the whole registry costs ~0.5 s, the answer microseconds. :func:`load_for` asks the
store for the records of the given codes (:meth:`RegistryStore.registry_records`), then for the
codes their successions lead to, until nothing new appears, and builds a :class:`Registry` from
that closure. ``resolve`` only walks from a code to its successors (never to parents or
predecessors), so for every code asked for the partial registry answers exactly what the full one
does (tested against the seed: active, redirected, ambiguous, unknown).

A partial registry is for reading. Its version log holds one header (the stored version number,
no changes), so it cannot be saved: a store refuses it as ``store.diverged``. Its ``search``,
``diff`` and export see only the closure; commands that need everything load the whole registry.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import Final

from registry.model import Agency, Succession, VersionInfo
from registry.registry import Registry, level1_full_form
from registry.store import RegistryStore
from registry.versions import VersionLog

_ATTEMPTS: Final = 3
"""Re-reads when a save lands between the first and last read of one partial load."""


def lookup_codes(codes: Iterable[str]) -> list[str]:
    """The codes to fetch for what people typed: each code, and for a bare level-1 body
    (``H63``) also its stored QCVN form ``000.00.00.H63`` (see :meth:`Registry.canonical`)."""
    wanted: dict[str, None] = {}
    for code in codes:
        wanted[code] = None
        full = level1_full_form(code)
        if full is not None:
            wanted[full] = None
    return list(wanted)


async def closure(
    store: RegistryStore, codes: Collection[str]
) -> tuple[list[Agency], list[Succession]]:
    """The records of ``codes`` and of every code their successions lead to, transitively
    (one ``registry_records`` round per step of the longest chain, usually two or three)."""
    asked: set[str] = set()
    pending = set(lookup_codes(codes))
    agencies: dict[tuple[str, datetime | None], Agency] = {}
    successions: dict[tuple[str, datetime], Succession] = {}
    while pending:
        asked |= pending
        found, links = await store.registry_records(sorted(pending))
        for agency in found:
            agencies[agency.key] = agency
        for succession in links:
            successions[succession.key] = succession
        pending = {
            successor.code
            for succession in successions.values()
            if succession.from_code in asked
            for successor in succession.successors
        } - asked
    return list(agencies.values()), list(successions.values())


async def load_for(store: RegistryStore, codes: Collection[str]) -> Registry | None:
    """The smallest registry that resolves ``codes`` as the stored latest version does;
    ``None`` when the store was never seeded. Reads the version before and after the records
    and starts again if a save landed in between, so the answer belongs to one version."""
    for _ in range(_ATTEMPTS):
        version = await store.registry_version()
        if version is None:
            return None
        agencies, successions = await closure(store, codes)
        if await store.registry_version() == version:
            break
    assert version is not None  # the loop ran at least once and returned on None
    info = VersionInfo(version, datetime.now(UTC), "partial", f"lookup of {len(codes)} codes")
    return Registry.from_snapshot(agencies, successions, VersionLog((info,)))
