"""The registry's writes as plain async functions: the API, the CLI and the console share them.

Every way an operator reaches the registry (``/v1/registry/...``, ``axis registry add|close|...``,
the web console) calls these functions, so a change made from any of them is the same change:
ONE new registry version in the deployment's store, audited with who (the system id), from where
(the client address) and when (the axis's clock), and picked up by every node without a restart
(the store's change notification and :class:`axis.registry_view.RegistryView`).

Writes take the store (and, on a serving node, its :class:`RegistryView`, switched at once so
the caller reads its own write) and answer a :class:`ChangeOutcome`; the reads (resolve, search,
versions, diff, changes since N) are in :mod:`axis.registry_reads`.

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
from typing import Any, Final, TypedDict

import structlog

from axis.errors import AxisError
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
from registry.model import Change, Successor, change_to_dict
from registry.registry import Registry

__all__ = [
    "Actor",
    "AgencyDraft",
    "ChangeOutcome",
    "WriteArgs",
    "add_agency",
    "close_agency",
    "commit",
    "latest_registry",
    "rename_agency",
    "reopen_agency",
    "set_successors",
]

_log = structlog.get_logger("axis.registry_admin")

SAVE_ATTEMPTS: Final = 4
"""A save that lost a race with another writer is rebuilt on the newer version this often."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change and from where: the ``system_id`` (the API's authenticated system, the
    CLI's ``--author``) and the client ``address`` (``None`` for the local CLI)."""

    system_id: str
    address: str | None = None


class WriteArgs(TypedDict):
    """The keyword arguments every write takes, built once by its caller (a request, a command)
    and spread into the call (``**write``): who, when, why, and the serving node's view (``None``
    for the CLI)."""

    actor: Actor
    now: dt.datetime
    reason: str
    view: RegistryView | None


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
    version) names it, and a ``registry.admin`` event, written in the same transaction, adds the
    client address, the action and the codes. When another writer saved first (``store.newer`` /
    ``store.diverged``), the changes are rebuilt on the newer version, up to :data:`SAVE_ATTEMPTS`
    times (``registry.busy``, 409, after that). ``view`` switches at once (read your own write).
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
        audit = AuditDraft(
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
        try:
            await store.save_registry_audited(updated, [audit])
        except StoreError as exc:
            if exc.code in ("store.newer", "store.diverged", "store.gap"):
                _log.info("registry.save_raced", attempt=attempt, error=exc.code)
                continue
            raise
        if view is not None and view.version < updated.version:
            view.replace(updated)
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


async def _edit_code(
    store: Store,
    code: str,
    build: Build,
    write: WriteArgs,
    *,
    action: str,
    effective: dt.datetime | None,
    label: str = "",
    successors: Sequence[Successor] = (),
) -> ChangeOutcome:
    """:func:`commit` of one agency's change: the reason defaults to ``"<label> CODE"`` (the
    action's name when no label), and the audit names the code and its successors."""
    key = code.strip().upper()
    return await commit(
        store,
        build,
        actor=write["actor"],
        now=write["now"],
        reason=write["reason"] or f"{label or action} {key}",
        action=action,
        codes=(key, *(s.code.strip().upper() for s in successors)),
        effective=effective,
        view=write["view"],
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
    return await _edit_code(
        store,
        draft.code,
        lambda registry: add_changes(registry, draft, now),
        WriteArgs(actor=actor, now=now, reason=reason, view=view),
        action="add",
        effective=draft.valid_from,
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
    return await _edit_code(
        store,
        code,
        lambda registry: rename_changes(
            registry, code, name, short_name=short_name, at=at, now=now
        ),
        WriteArgs(actor=actor, now=now, reason=reason, view=view),
        action="rename",
        effective=at,
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
    return await _edit_code(
        store,
        code,
        lambda registry: close_changes(
            registry, code, at=at, successors=successors, legal_basis=legal_basis, now=now
        ),
        WriteArgs(actor=actor, now=now, reason=reason, view=view),
        action="close",
        effective=at or now,
        successors=successors,
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
    return await _edit_code(
        store,
        code,
        lambda registry: successor_changes(
            registry, code, successors, at=at, legal_basis=legal_basis, now=now
        ),
        WriteArgs(actor=actor, now=now, reason=reason, view=view),
        action="succeed",
        label="successors of",
        effective=at,
        successors=successors,
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
    return await _edit_code(
        store,
        code,
        lambda registry: reopen_changes(registry, code, at=at, now=now),
        WriteArgs(actor=actor, now=now, reason=reason, view=view),
        action="reopen",
        effective=at,
    )


def _change_error(exc: ChangeError | StoreError) -> AxisError:
    status = 409 if exc.code in ("registry.exists", "registry.stale", "registry.overlap") else 422
    return AxisError(exc.code, exc.message, exc.location, status=status)
