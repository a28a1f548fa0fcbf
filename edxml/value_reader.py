"""One read of one tree: where its findings collect, and how its leaf values are read.

Every value that cannot be read becomes a located :class:`Problem` instead of an exception, so one
pass over a broken package reports everything wrong with it; the caller (:func:`edxml.parse` or
:func:`edxml.validate`) decides whether the problems are fatal. The structure readers
(:mod:`edxml.header_reader`, :mod:`edxml.attachment_reader`) share one :class:`ValueReader`, so
the findings of a package keep the order in which its fields were read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TypeVar

from edxml.dates import parse_date, parse_timestamp
from edxml.elements import Children, Element, element_path, text_of
from edxml.errors import Mode, Problem, Severity
from edxml.payload import Payload

T = TypeVar("T")


class ValueReader:
    """One read of one tree; collects problems as it goes.

    The hot path (a clean package) reads about sixty fields, so the structure readers fill each
    record from a children index with plain functions (:func:`edxml.elements.first_text`,
    :func:`edxml.elements.first_texts`) and come here only for values that can be wrong (numbers,
    dates) or must be reported; the order in which fields are read, and so the order of findings,
    is the document model's order, as it always was.
    """

    __slots__ = ("mode", "problems", "spooled")

    def __init__(self, mode: Mode, spooled: Mapping[Element, Payload]) -> None:
        self.mode = mode
        self.spooled = spooled
        self.problems: list[Problem] = []

    # -- findings ---------------------------------------------------------------------------
    def error(self, code: str, message: str, element: Element) -> None:
        self.problems.append(Problem(code, message, element_path(element)))

    def lenient(self, code: str, message: str, element: Element) -> None:
        """A deviation real producers make: a warning when tolerant, an error when strict."""
        severity = Severity.ERROR if self.mode is Mode.STRICT else Severity.WARNING
        self.problems.append(Problem(code, message, element_path(element), severity))

    # -- leaf values ------------------------------------------------------------------------
    def first(self, index: Children, name: str, *aliases: str) -> Element | None:
        found = index.get(name)
        if found:
            return found[0]
        for key in aliases:
            found = index.get(key)
            if found:
                return found[0]
        return None

    def first_or(self, fallback: Element, index: Children, *names: str) -> Element:
        """The first child of one of ``names``, else ``fallback`` (for locating a finding)."""
        found = self.first(index, *names)
        return fallback if found is None else found

    def texts(self, index: Children, name: str) -> tuple[str, ...]:
        found = index.get(name)
        if found is None:
            return ()
        return tuple([t for t in map(text_of, found) if t is not None])

    def typed(
        self, index: Children, name: str, convert: Callable[[str], T | None], what: str
    ) -> T | None:
        found = index.get(name)
        if found is None:
            return None
        raw = text_of(found[0])
        if raw is None:
            return None
        value = convert(raw)
        if value is None:
            self.error(f"value.bad_{what}", f"{name} {raw!r} is not a valid {what}", found[0])
        return value

    def integer(self, index: Children, name: str) -> int | None:
        return self.typed(index, name, _int_or_none, "integer")

    def date(self, index: Children, name: str) -> dt.date | None:
        found = index.get(name)
        if found is None:
            return None
        element = found[0]
        raw = text_of(element)
        if raw is None:
            return None
        value = parse_date(raw)
        if value is None:
            self.error("value.bad_date", f"{name} {raw!r} is not a valid date", element)
        elif "-" in (element.text or ""):
            self.lenient(
                "value.date_dashes", f"{name} uses yyyy-MM-dd; QCVN 102 writes yyyy/MM/dd", element
            )
        return value

    def timestamp(self, index: Children, name: str) -> dt.datetime | None:
        return self.typed(index, name, parse_timestamp, "timestamp")


def _int_or_none(raw: str) -> int | None:
    try:
        return int(raw)
    except ValueError:
        return None
