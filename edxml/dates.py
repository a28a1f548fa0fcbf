"""edXML dates and timestamps: ``yyyy/MM/dd`` and ``yyyy/MM/dd HH:mm:ss``, tolerant on input.

Producers also write ``yyyy-MM-dd`` (a .NET bug the spec says to accept) and, for timestamps, an ISO
``T`` separator. We always write the canonical slash form, as VNPT's library does.
"""

from __future__ import annotations

import datetime as dt
import re

_DATE = re.compile(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})")
_TIMESTAMP = re.compile(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")


def parse_date(text: str) -> dt.date | None:
    """The date in ``text``, or ``None`` when it is not a date of either accepted form."""
    match = _DATE.fullmatch(text.strip())
    if match is None:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def parse_timestamp(text: str) -> dt.datetime | None:
    """The timestamp in ``text`` (naive, Vietnamese local time), or ``None``."""
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        return None
    try:
        return dt.datetime(
            int(match[1]),
            int(match[2]),
            int(match[3]),
            int(match[4]),
            int(match[5]),
            int(match[6] or 0),
        )
    except ValueError:
        return None


def format_date(value: dt.date) -> str:
    """``yyyy/MM/dd``."""
    return f"{value.year:04d}/{value.month:02d}/{value.day:02d}"


def format_timestamp(value: dt.datetime) -> str:
    """``yyyy/MM/dd HH:mm:ss``."""
    return f"{format_date(value)} {value.hour:02d}:{value.minute:02d}:{value.second:02d}"
