"""The registry's administration as plain async functions: the API, the CLI and the console.

Every way an operator reaches the registry (``/v1/registry/...``, ``axis registry add|close|...``,
the web console) calls these functions, so a change made from any of them is the same change:
ONE new registry version in the deployment's store, audited with who (the system id), from where
(the client address) and when (the axis's clock), and picked up by every node without a restart
(the store's change notification and :class:`axis.registry_view.RegistryView`).

Reads take the :class:`~registry.registry.Registry` the caller routes with (a serving node's
``runtime.registry.current``; the CLI's loaded version) and answer JSON-ready dicts, the one wire
shape the API, ``--json`` and the console share. Writes take the store (and, on a serving node,
its :class:`RegistryView`, switched at once so the caller reads its own write) and answer a
:class:`ChangeOutcome`.

Scheduling: a change "at an instant" is stored now with that instant inside its records (a
close's ``valid_until``, a succession's ``effective``, a new record's ``valid_from``), and
``resolve`` reads instants, so the change takes effect at that instant on every node with no one
at the keyboard, no background applier and no leader election; agency systems see it in advance
in ``changes?since=N``. Imports (:mod:`axis.registry_imports`) and proposals
(:mod:`axis.proposals`) are built on :func:`commit`.

Errors are :class:`axis.errors.AxisError` with stable codes (``registry.not_found`` 404,
``registry.exists`` / ``registry.not_in_force`` / ``registry.busy`` 409, ``registry.invalid``
422 with the field as ``location``, ...), the registry's own ``ChangeError`` codes passed through.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import structlog

from axis.errors import AxisError, NotFoundError
from axis.registry_edits import (
    AgencyDraft,
    add_changes,
    close_changes,
    rename_changes,
    reopen_changes,
    successor_changes,
)
from axis.registry_view import RegistryView
from axis.store.protocol import Store
from axis.store.records import AuditDraft
from registry.errors import ChangeError, StoreError
from registry.model import (
    Change,
    Successor,
    agency_to_dict,
    change_to_dict,
    succession_to_dict,
    version_info_to_dict,
)
from registry.registry import Registry
from registry.resolution import Resolution
from registry.versions import VersionError, diff, registry_at_version

__all__ = [
    "Actor",
    "AgencyDraft",
    "ChangeOutcome",
    "add_agency",
    "agency",
    "changes_since",
    "close_agency",
    "commit",
    "diff_versions",
    "latest_registry",
    "rename_agency",
    "reopen_agency",
    "resolution_dict",
    "resolve",
    "search",
    "set_successors",
    "versions",
]

_log = structlog.get_logger("axis.registry_admin")

SAVE_ATTEMPTS: Final = 4
"""A save that lost a race with another writer is rebuilt on the newer version this often."""
MAX_SEARCH: Final = 200
MAX_VERSIONS: Final = 1000


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change and from where: the ``system_id`` (the API's authenticated system, the
    CLI's ``--author``) and the client ``address`` (``None`` for the local CLI)."""

    system_id: str
    address: str | None = None


@dataclass(frozen=True, slots=True)
class ChangeOutcome:
    """What one write did: the version before and after (equal when nothing had to change) and
    the changes stored, as the change log records them."""

    version_before: int
    version_after: int
    changes: tuple[Change, ...] = ()
    effective: dt.datetime | None = None
    author: str = ""
    reason: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        """Whether a new version was stored."""
        return self.version_after != self.version_before

    def to_dict(self) -> dict[str, Any]:
        """The JSON answer of a write (``POST /v1/registry/...``, ``--json``)."""
        return {
            "version_before": self.version_before,
            "version": self.version_after,
            "changed": self.changed,
            "author": self.author,
            "reason": self.reason,
            "effective": None if self.effective is None else self.effective.isoformat(),
            "changes": [change_to_dict(c) for c in self.changes],
            **self.extra,
        }


# --- reads ----------------------------------------------------------------------------------


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


# --- writes ---------------------------------------------------------------------------------

Build = Callable[[Registry], Sequence[Change]]
"""Turns the newest registry into the changes of one write (raises on a refusal)."""


async def latest_registry(store: Store, view: RegistryView | None = None) -> Registry:
    """The newest stored version: the view's when it is current (no load), else loaded."""
    stored = await store.registry_version()
    if view is not None and stored == view.version:
        return view.current
    loaded = await store.load_registry()
    return Registry.empty() if loaded is None else loaded


async def commit(
    store: Store,
    build: Build,
    *,
    actor: Actor,
    now: dt.datetime,
    reason: str,
    action: str,
    codes: Sequence[str] = (),
    effective: dt.datetime | None = None,
    view: RegistryView | None = None,
) -> ChangeOutcome:
    """The changes ``build`` makes on the newest version, stored as ONE new version, or nothing.

    The version's author is ``actor.system_id``; its audit event (written by the store with the
    version) names it, and a ``registry.admin`` event adds the client address, the action and
    the codes. When another writer saved first (``store.newer`` / ``store.diverged``), the
    changes are rebuilt on the newer version, up to :data:`SAVE_ATTEMPTS` times
    (``registry.busy``, 409, after that). ``view`` switches at once (read your own write).
    """
    author = actor.system_id
    text = reason.strip() or action
    for attempt in range(1, SAVE_ATTEMPTS + 1):
        base = await latest_registry(store, view)
        changes = list(build(base))
        try:
            updated = await asyncio.to_thread(
                base.apply,
                changes,
                author=author,
                reason=text,
                effective=effective,
                created_at=now,
            )
        except ChangeError as exc:
            raise _change_error(exc) from None
        if updated is base:
            return ChangeOutcome(base.version, base.version, (), effective, author, text)
        try:
            await store.save_registry(updated)
        except StoreError as exc:
            if exc.code in ("store.newer", "store.diverged", "store.gap"):
                _log.info("registry.save_raced", attempt=attempt, error=exc.code)
                continue
            raise
        if view is not None and view.version < updated.version:
            view.replace(updated)
        await store.append_audit(
            [
                AuditDraft(
                    kind="registry.admin",
                    at=now,
                    system_id=author,
                    address=actor.address,
                    codes=tuple(dict.fromkeys(codes or (c.code for c in updated.info.changes))),
                    data={
                        "action": action,
                        "version": updated.version,
                        "reason": text,
                        "effective": None if effective is None else effective.isoformat(),
                        "changes": len(updated.info.changes),
                    },
                )
            ]
        )
        _log.info(
            "registry.changed", action=action, version=updated.version, author=author, codes=codes
        )
        return ChangeOutcome(
            base.version, updated.version, updated.info.changes, effective, author, text
        )
    raise AxisError(
        "registry.busy",
        f"other writers kept changing the registry; tried {SAVE_ATTEMPTS} times: try again",
        None,
        status=409,
    )


async def add_agency(
    store: Store,
    draft: AgencyDraft,
    *,
    actor: Actor,
    now: dt.datetime,
    reason: str = "",
    view: RegistryView | None = None,
) -> ChangeOutcome:
    """A new agency (or a level-2/3/4 unit such as a province's department ``000.00.07.H38``),
    in force from ``draft.valid_from`` (default: ``now``). Its parent (given, or the code's
    structural parent) must be in the registry and in force then (``registry.parent_unknown``);
    a code already in force then is ``registry.exists`` (409); a closed code may be re-used
    from after its closing."""
    return await commit(
        store,
        lambda registry: add_changes(registry, draft, now),
        actor=actor,
        now=now,
        reason=reason or f"add {draft.code.strip().upper()}",
        action="add",
        codes=(draft.code.strip().upper(),),
        effective=draft.valid_from,
        view=view,
    )


async def rename_agency(
    store: Store,
    code: str,
    name: str,
    *,
    short_name: str | None = None,
    at: dt.datetime | None = None,
    actor: Actor,
    now: dt.datetime,
    reason: str = "",
    view: RegistryView | None = None,
) -> ChangeOutcome:
    """A new name for ``code``. With ``at``, history is kept: the record in force then closes at
    ``at`` and a record with the new name opens there (scheduled when ``at`` is ahead); without
    it, the record in force now is corrected in place (a misspelt name)."""
    return await commit(
        store,
        lambda registry: rename_changes(
            registry, code, name, short_name=short_name, at=at, now=now
        ),
        actor=actor,
        now=now,
        reason=reason or f"rename {code.strip().upper()}",
        action="rename",
        codes=(code.strip().upper(),),
        effective=at,
        view=view,
    )


async def close_agency(
    store: Store,
    code: str,
    *,
    at: dt.datetime | None = None,
    successors: Sequence[Successor] = (),
    legal_basis: str = "",
    actor: Actor,
    now: dt.datetime,
    reason: str = "",
    view: RegistryView | None = None,
) -> ChangeOutcome:
    """Close ``code`` at ``at`` (default ``now``), its work passing to ``successors`` (each with
    its kind and at most one ``primary``) from that instant. Every successor must be in force at
    ``at`` (``registry.successor_unknown``): mail is never redirected into the void. A future
    ``at`` schedules the close: documents keep going to ``code`` until that instant."""
    return await commit(
        store,
        lambda registry: close_changes(
            registry, code, at=at, successors=successors, legal_basis=legal_basis, now=now
        ),
        actor=actor,
        now=now,
        reason=reason or f"close {code.strip().upper()}",
        action="close",
        codes=(code.strip().upper(), *(s.code.strip().upper() for s in successors)),
        effective=at or now,
        view=view,
    )


async def set_successors(
    store: Store,
    code: str,
    successors: Sequence[Successor],
    *,
    at: dt.datetime | None = None,
    legal_basis: str = "",
    actor: Actor,
    now: dt.datetime,
    reason: str = "",
    view: RegistryView | None = None,
) -> ChangeOutcome:
    """Name (or replace) the successors of ``code`` (``axis registry succeed``): a closed code
    gets them from its closing instant (or ``at``), a code still in force is closed at ``at``
    (default ``now``) with them."""
    return await commit(
        store,
        lambda registry: successor_changes(
            registry, code, successors, at=at, legal_basis=legal_basis, now=now
        ),
        actor=actor,
        now=now,
        reason=reason or f"successors of {code.strip().upper()}",
        action="succeed",
        codes=(code.strip().upper(), *(s.code.strip().upper() for s in successors)),
        effective=at,
        view=view,
    )


async def reopen_agency(
    store: Store,
    code: str,
    *,
    at: dt.datetime | None = None,
    actor: Actor,
    now: dt.datetime,
    reason: str = "",
    view: RegistryView | None = None,
) -> ChangeOutcome:
    """Undo the closing of ``code``: without ``at`` its last record never closed (its succession
    at that instant is removed: a close made by mistake, or one scheduled and called off); with
    ``at`` the code comes back from ``at`` as a new record (history keeps the closed period)."""
    return await commit(
        store,
        lambda registry: reopen_changes(registry, code, at=at, now=now),
        actor=actor,
        now=now,
        reason=reason or f"reopen {code.strip().upper()}",
        action="reopen",
        codes=(code.strip().upper(),),
        effective=at,
        view=view,
    )


def _change_error(exc: ChangeError | StoreError) -> AxisError:
    status = 409 if exc.code in ("registry.exists", "registry.stale", "registry.overlap") else 422
    return AxisError(exc.code, exc.message, exc.location, status=status)
