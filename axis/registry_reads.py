"""The registry's reads as plain async functions: the API, the CLI and the console share them.

Each takes the :class:`~registry.registry.Registry` the caller routes with (a serving node's
``runtime.registry.current``; the CLI's loaded version) and answers a JSON-ready dict, the one
wire shape ``/v1/registry/...``, ``--json`` and the console share: who does a code's work at an
instant (following successions), name search, one agency's records, version headers, the diff of
two versions and the changes after a version (what an agency's system replays to stay in sync).
Work that can take long on the full registry (a first search, predecessors, a diff) runs in a
worker thread. The writes are in :mod:`axis.registry_admin`.

Errors are :class:`axis.errors.AxisError` with stable codes (``registry.not_found`` 404,
``registry.invalid`` 422, ``registry.version_unknown`` 404, ``registry.version_*`` 410 for a
version no longer in the log).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any, Final

from axis.errors import AxisError, NotFoundError
from registry.model import agency_to_dict, succession_to_dict, version_info_to_dict
from registry.registry import Registry
from registry.resolution import Resolution
from registry.versions import VersionError, diff, registry_at_version

__all__ = [
    "MAX_SEARCH",
    "MAX_VERSIONS",
    "agency",
    "changes_since",
    "diff_versions",
    "resolution_dict",
    "resolve",
    "search",
    "versions",
]

MAX_SEARCH: Final = 200
MAX_VERSIONS: Final = 1000


def resolution_dict(res: Resolution) -> dict[str, Any]:
    """The JSON form of a resolution (the CLI's ``resolve --json`` and the API share it)."""
    return {
        "requested": res.requested,
        "at": res.at.isoformat(),
        "status": res.status,
        "ok": res.ok,
        "agency": None if res.agency is None else agency_to_dict(res.agency),
        "hops": [hop.to_dict() for hop in res.hops],
        "candidates": list(res.candidates),
        "last_known": None if res.last_known is None else agency_to_dict(res.last_known),
    }


async def resolve(
    registry: Registry,
    code: str,
    at: dt.datetime,
    *,
    addressed_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Who does ``code``'s work at ``at`` (following successions), with the version asked."""
    res = registry.resolve(code.strip().upper(), at, addressed_at=addressed_at)
    return {"version": registry.version, **resolution_dict(res)}


async def search(
    registry: Registry, text: str, *, limit: int = 20, at: dt.datetime | None = None
) -> dict[str, Any]:
    """Agencies whose name, short name or code matches ``text`` (with or without diacritics).

    The first search of a version builds its name index (a few hundred ms on the full seed), so
    it runs in a worker thread: the event loop keeps serving."""
    if not text.strip():
        raise AxisError("registry.invalid", "the search text is empty", "q", status=422)
    hits = await asyncio.to_thread(registry.search, text, limit=min(limit, MAX_SEARCH), at=at)
    return {
        "version": registry.version,
        "query": text,
        "results": [agency_to_dict(a) for a in hits],
    }


async def agency(registry: Registry, code: str) -> dict[str, Any]:
    """Every record of ``code`` (a re-used code has several), the successions that closed it
    (its successors) and those that point to it (its predecessors); 404 when none exist."""
    wanted = code.strip().upper()
    records = registry.records(wanted)
    closes = registry.successions_of(wanted)
    if not records and not closes:
        raise NotFoundError(
            "registry.not_found",
            f"{wanted} is not in the registry (version {registry.version})",
            "code",
        )
    takes = await asyncio.to_thread(registry.predecessors_of, wanted)
    return {
        "version": registry.version,
        "code": registry.canonical(wanted),
        "records": [agency_to_dict(a) for a in records],
        "successors": [succession_to_dict(s) for s in closes],
        "predecessors": [succession_to_dict(s) for s in takes],
    }


async def versions(registry: Registry, *, limit: int = 100) -> dict[str, Any]:
    """The newest ``limit`` version headers (number, when, author, reason, effective, count),
    newest first."""
    infos = registry.log.versions[-max(1, min(limit, MAX_VERSIONS)) :]
    return {
        "version": registry.version,
        "first": registry.log.first,
        "versions": [version_info_to_dict(v, with_changes=False) for v in reversed(infos)],
    }


async def diff_versions(registry: Registry, from_version: int, to_version: int) -> dict[str, Any]:
    """What differs between two versions' states (rebuilt from the log in a worker thread).
    ``registry.unknown_version`` (404) for a version outside the log."""

    def compute() -> dict[str, Any]:
        older = registry_at_version(registry, from_version)
        newer = registry_at_version(registry, to_version)
        return diff(older, newer).to_dict()

    try:
        return await asyncio.to_thread(compute)
    except VersionError as exc:
        raise _version_error(exc) from None


async def changes_since(registry: Registry, since: int) -> dict[str, Any]:
    """The versions after ``since`` with every change (before and after each record): what an
    agency's system replays to stay in sync (``GET /v1/registry/changes?since=N``)."""
    try:
        infos = registry.log.since(since)
    except VersionError as exc:
        raise _version_error(exc) from None
    return {
        "since": since,
        "version": registry.version,
        "versions": [version_info_to_dict(v) for v in infos],
    }


def _version_error(exc: VersionError) -> AxisError:
    status = 404 if exc.code in ("version.unknown", "version.future") else 410
    return AxisError(
        f"registry.{exc.code.replace('.', '_')}", exc.message, "version", status=status
    )
