"""What every backend writes the same way: compact JSON and opaque cursors."""

from __future__ import annotations

import json
from typing import Any, Final

from axis.store.errors import CursorError

CURSOR_DIGITS: Final = 15
"""A cursor is the decimal text of a sequence number; 15 digits stay exact in every backend
(Redis's Lua numbers are doubles) and outlast any deployment."""


def dumps(value: Any) -> str:
    """Compact JSON with Vietnamese kept readable (what an admin sees in sqlite3 or redis-cli)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def parse_cursor(cursor: str | None) -> int:
    """An opaque cursor back to its number; anything else is refused (``store.bad_cursor``)."""
    if cursor is None:
        return 0
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > CURSOR_DIGITS:
        raise CursorError(cursor)
    return int(cursor)
