"""Instants as official lists write them, read into aware UTC datetimes.

Vietnamese legal dates are local midnights ("2025-07-01" means 00:00 Asia/Ho_Chi_Minh); VDXP
writes local wall-clock times without an offset ("30/06/2025 17:00:00") or epoch milliseconds.
An ISO time WITH an offset is taken as written; an ISO time without one is refused in our own
format (its meaning would be a guess) but read as Vietnam time in the VDXP shape, whose every
producer runs on Vietnam time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from registry.errors import RegistryError
from registry.model import VN_TZ, vn_midnight


class InstantError(RegistryError, ValueError):
    """Text that is not an instant; ``code`` is stable (``time.bad``, ``time.naive``)."""


def parse_instant(text: str, *, naive_is_local: bool = False) -> datetime:
    """``2025-07-01`` (a Vietnamese midnight), ISO 8601 with offset, ``dd/MM/yyyy[ HH:mm:ss]``
    (Vietnam time), or epoch milliseconds; the result is in UTC."""
    value = text.strip()
    if not value:
        raise InstantError("time.bad", "empty instant")
    if value.isdigit() and len(value) >= 10:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    if "/" in value:
        for pattern in ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y"):
            try:
                return datetime.strptime(value, pattern).replace(tzinfo=VN_TZ).astimezone(UTC)
            except ValueError:
                continue
        raise InstantError("time.bad", f"{value!r} is not dd/MM/yyyy[ HH:mm:ss]")
    if len(value) == 10:
        try:
            return vn_midnight(date.fromisoformat(value))
        except ValueError as exc:
            raise InstantError("time.bad", f"{value!r} is not a date: {exc}") from None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InstantError("time.bad", f"{value!r} is not ISO 8601: {exc}") from None
    if moment.tzinfo is None:
        if not naive_is_local:
            raise InstantError("time.naive", f"{value!r} has no UTC offset; write +07:00 or Z")
        moment = moment.replace(tzinfo=VN_TZ)
    return moment.astimezone(UTC)
