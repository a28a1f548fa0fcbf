"""What every backend writes the same way: compact JSON, times as text and opaque cursors."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Final

from axis.store.errors import CursorError

CURSOR_DIGITS: Final = 15
"""A cursor is the decimal text of a sequence number; 15 digits stay exact in every backend
(Redis's Lua numbers are doubles) and outlast any deployment."""


def dumps(value: Any) -> str:
    """Compact JSON with Vietnamese kept readable (what an admin sees in sqlite3 or redis-cli)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def utc_text(moment: dt.datetime) -> str:
    """Fixed-width UTC text (``2026-07-01T01:30:00.000000+00:00``: text order is time order);
    a naive instant is refused, since nobody could say which zone it meant."""
    if moment.utcoffset() is None:
        raise ValueError(f"store times must be timezone-aware, got {moment.isoformat()}")
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def from_utc_text(text: str) -> dt.datetime:
    """Inverse of :func:`utc_text` (also reads any ISO-8601 text with an offset)."""
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def parse_cursor(cursor: str | None) -> int:
    """An opaque cursor back to its number; anything else is refused (``store.bad_cursor``)."""
    if cursor is None:
        return 0
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > CURSOR_DIGITS:
        raise CursorError(cursor)
    return int(cursor)
