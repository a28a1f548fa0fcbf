"""The dashboard's CRL panel: how old each held certificate revocation list is, and whether it
is past its nextUpdate (then hard-fail refuses what it covers), from :mod:`axis.crl_refresh`."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from axis.crl_refresh import CrlState
from axis.runtime import Runtime

CrlHealth = Literal["fresh", "stale", "open"]


@dataclass(frozen=True, slots=True)
class CrlRow:
    """One CRL as the dashboard shows it."""

    issuer: str
    age_seconds: float
    next_update: dt.datetime | None
    health: CrlHealth
    revoked: int


def row_of(state: CrlState) -> CrlRow:
    if state.next_update is None:
        health: CrlHealth = "open"
    else:
        health = "stale" if state.past_next_update else "fresh"
    return CrlRow(state.issuer, state.age_seconds, state.next_update, health, state.revoked)


async def crl_rows(runtime: Runtime) -> list[CrlRow] | None:
    """One row per CRL this deployment holds; None when the server keeps no CRL watcher. The
    files are read in a thread (a large CRL takes milliseconds to parse)."""
    if runtime.crl is None:
        return None
    states = await asyncio.to_thread(runtime.crl.states)
    return [row_of(state) for state in states]


def age_text(seconds: float, units: Callable[[str], str]) -> str:
    """``2 ngày 3 giờ`` / ``2 d 3 h``: the two largest units of an age."""
    whole = max(0, int(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} {units('unit.day')} {hours} {units('unit.hour')}"
    if hours:
        return f"{hours} {units('unit.hour')} {minutes} {units('unit.minute')}"
    return f"{minutes} {units('unit.minute')}"
