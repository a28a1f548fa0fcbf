"""Continuity across a succession: mail waiting for a closed code follows its work.

When a succession takes effect (H63 closed at 2025-07-01 00:00, its work to H38), documents
already accepted for H63 but not yet fetched would otherwise wait for a system that no longer
answers. The mover wakes at every effective instant (by the axis's clock) and moves those pending
deliveries to the code the closed one now resolves to; the trace records each move. An admin may
choose instead to let the old system drain them (``axis deliveries drain CODE``). The closed
code's system still reads what it had fetched; it receives nothing new, because new documents
resolve to the successor from that instant on.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import structlog

from axis.clock import Clock, iso
from axis.registry_view import RegistryView
from axis.store.protocol import Store
from axis.store.records import AuditDraft
from registry.model import Succession

_log = structlog.get_logger("axis.continuity")

LOOKBACK = dt.timedelta(days=30)
"""Successions that took effect this long before a start are still caught up on (a server that
was down over a cut-over moves the mail when it comes back)."""

MAX_SLEEP = 10.0
_CHUNK = 1000
SETTLE = dt.timedelta(seconds=5)
"""A document resolved just before the instant may commit just after the first move: the mover
passes again until this long after the instant, then considers the succession done."""


class SuccessionMover:
    """Moves pending deliveries of closed codes to their successors, at the right instant."""

    def __init__(self, store: Store, registry: RegistryView, clock: Clock) -> None:
        self._store = store
        self._registry = registry
        self._clock = clock
        self._done: set[str] = set()

    def _due(self, now: dt.datetime) -> list[Succession]:
        earliest = now - LOOKBACK
        return [
            s
            for s in self._registry.current.successions()
            if earliest <= s.effective <= now and _key(s) not in self._done
        ]

    def _next_instant(self, now: dt.datetime) -> dt.datetime | None:
        later = [s.effective for s in self._registry.current.successions() if s.effective > now]
        return min(later) if later else None

    async def run_once(self) -> int:
        """Move what is due now; returns how many deliveries moved."""
        now = self._clock.now()
        due = self._due(now)
        if not due:
            return 0
        drains = await self._store.drains()
        waiting = await self._codes_with_pending({s.from_code for s in due} - drains)
        moved = 0
        registry = self._registry.current
        for succession in due:
            key = _key(succession)
            if succession.from_code not in waiting:
                if now >= succession.effective + SETTLE:
                    self._done.add(key)
                continue
            route = registry.resolve(succession.from_code, now)
            if not route.ok or route.code is None:
                _log.warning(
                    "continuity.not_moved",
                    code=succession.from_code,
                    status=route.status,
                    candidates=list(route.candidates),
                )
                self._done.add(key)
                continue
            audit = AuditDraft(
                kind="moved",
                at=now,
                codes=(succession.from_code, route.code),
                data={
                    "from": succession.from_code,
                    "to": route.code,
                    "effective": iso(succession.effective),
                    "legal_basis": succession.legal_basis,
                },
            )
            changed = await self._store.move_pending(
                succession.from_code, route.code, now, f"{key}#{iso(now)}", audit
            )
            moved += len(changed)
            if now >= succession.effective + SETTLE:
                self._done.add(key)
            if changed:
                _log.info(
                    "continuity.moved",
                    code=succession.from_code,
                    to=route.code,
                    deliveries=len(changed),
                )
        return moved

    async def _codes_with_pending(self, codes: set[str]) -> set[str]:
        """Which of ``codes`` have pending deliveries (at midnight of 1 July 2025 some ten
        thousand codes closed at once; only the few with mail waiting need a move)."""
        found: set[str] = set()
        ordered = sorted(codes)
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            cursor: str | None = None
            while True:
                page = await self._store.inbox(chunk, after=cursor, limit=1000)
                found.update(i.delivery.code for i in page.items if i.delivery.state == "pending")
                cursor = page.cursor
                if cursor is None:
                    break
        return found

    async def run(self) -> None:
        """Forever: move what is due, then sleep until the next effective instant (at most
        ``MAX_SLEEP`` seconds, so a new registry version is picked up soon)."""
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the mover must outlive a store hiccup
                _log.error("continuity.failed", error=f"{type(exc).__name__}: {exc}")
            now = self._clock.now()
            upcoming = self._next_instant(now)
            pause = MAX_SLEEP if not self._due(now) else 1.0
            if upcoming is not None:
                pause = min(pause, max(0.0, self._clock.seconds_until(upcoming)) + 0.001)
            await asyncio.sleep(pause)


def _key(succession: Succession) -> str:
    return f"{succession.from_code}@{iso(succession.effective)}"
