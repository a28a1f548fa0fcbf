"""Which codes of one registry version lie under a code, by the zeroing rule.

A system granted ``000.00.00.H38`` acts for every unit under it (``001.05.13.H38``, ...). Asking
:func:`registry.codes.descends_from` of every code in the registry parses each of them: about
0.13 s for the national registry, once for every grant. The index here parses each code once
per registry version (build it off the event loop) and answers a grant with a few look-ups.
"""

from __future__ import annotations

from collections.abc import Iterable

from registry.codes import AgencyCode, AgencyCodeError


class Descendants:
    """For each code (in the registry or an ancestor of one), the registry codes at or under it."""

    def __init__(self, codes: Iterable[str]) -> None:
        under: dict[str, list[str]] = {}
        for text in codes:
            try:
                current: AgencyCode | None = AgencyCode.parse(text)
            except AgencyCodeError:  # descends from nothing, as descends_from says
                continue
            while current is not None:
                under.setdefault(current.text, []).append(text)
                current = current.parent
        self._under = under

    def of(self, roots: Iterable[str]) -> set[str]:
        """The registry codes that are one of ``roots`` or lie under one of them."""
        found: set[str] = set()
        for root in roots:
            found.update(self._under.get(root, ()))
        return found
