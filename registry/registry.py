"""The in-memory registry: immutable versions, resolve through successions, search by name.

A :class:`Registry` is one version of the registry and never changes: :meth:`Registry.apply`
returns a new object with ``version + 1`` and the change log entry, so readers hold a consistent
snapshot without locks and a failed change leaves nothing half-applied.

Time is data, not code: validity intervals and succession instants are stored, and
:meth:`Registry.resolve` reads them against the instant it is given. A version that schedules the
1 July 2025 cut-over therefore takes effect at that instant with the same object, no restart.

Resolving an active code is the hot path of the broker (every recipient of every document), so
the registry precomputes, per code, a small tuple of validity slots and memoises the last
:class:`Resolution` of each slot: a repeated resolve at the same instant allocates nothing.

This module holds the version object and its caches; the ideas it leans on live beside it: the
walk through successions and its answer types (:mod:`registry.resolution`), the name search
(:mod:`registry.search`), applying one change (:mod:`registry.changes`). ``Hop``, ``Resolution``
and ``RegistryError`` are re-exported here for the callers that always imported them from here.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Final

from registry.changes import apply_change, check_overlaps, record_sort_key
from registry.errors import RegistryError
from registry.model import Agency, Change, Succession, VersionInfo, as_utc
from registry.resolution import (
    Hop,
    Resolution,
    ResolutionStatus,
    boundaries,
    follow,
    record_at,
)
from registry.search import NameRow, name_index
from registry.search import search as _search
from registry.versions import VersionLog

__all__ = ["Hop", "Registry", "RegistryError", "Resolution", "ResolutionStatus"]

_LEVEL1_PREFIX: Final = "000.00.00."
_LEVEL1_LEN: Final = 3
_MIN: Final = datetime.min.replace(tzinfo=UTC)
_MAX: Final = datetime.max.replace(tzinfo=UTC)
_new_tuple = tuple.__new__  # builds a Resolution (a named tuple) without its Python __new__
_TIMELINES_MAX: Final = 200_000
"""At most this many codes keep a timeline of their non-active answers (unknown codes included)."""
_TIMELINE_REACH: Final = 256
"""A code leading to more codes than this is walked on every call instead (never seen in data)."""


def level1_full_form(code: str) -> str | None:
    """``000.00.00.H63`` for a bare level-1 body such as ``H63`` (what people type), else None."""
    if len(code) == _LEVEL1_LEN and code[0].isalpha() and code[1:].isdigit():
        return _LEVEL1_PREFIX + code
    return None


def _bounds(agency: Agency) -> tuple[datetime, datetime]:
    return (agency.valid_from or _MIN, agency.valid_until or _MAX)


class Registry:
    """One immutable version of the registry (see the module docstring)."""

    __slots__ = (
        "_agencies",
        "_by_code",
        "_fast",
        "_log",
        "_names",
        "_succ_by_code",
        "_successions",
        "_timelines",
        "info",
        "version",
    )

    def __init__(
        self,
        agencies: Mapping[tuple[str, datetime | None], Agency],
        successions: Mapping[tuple[str, datetime], Succession],
        log: VersionLog,
    ) -> None:
        """Internal: use :meth:`empty`, :meth:`build`, :meth:`apply` or a store's ``load``."""
        self._agencies: dict[tuple[str, datetime | None], Agency] = dict(agencies)
        self._successions: dict[tuple[str, datetime], Succession] = dict(successions)
        self._log = log
        self.info: VersionInfo = log.latest
        self.version: int = self.info.number
        by_code: dict[str, list[Agency]] = {}
        for agency in self._agencies.values():
            by_code.setdefault(agency.code, []).append(agency)
        self._by_code: dict[str, tuple[Agency, ...]] = {
            code: tuple(sorted(records, key=record_sort_key)) for code, records in by_code.items()
        }
        # code -> slots [lo, hi, agency, memoised Resolution]; lists, so the memo can be refreshed
        self._fast: dict[str, tuple[list[object], ...]] = {
            code: tuple([*_bounds(a), a, None] for a in records)
            for code, records in self._by_code.items()
        }
        succ: dict[str, list[Succession]] = {}
        for succession in self._successions.values():
            succ.setdefault(succession.from_code, []).append(succession)
        self._succ_by_code: dict[str, tuple[Succession, ...]] = {
            code: tuple(sorted(items, key=lambda s: s.effective)) for code, items in succ.items()
        }
        self._names: tuple[NameRow, ...] | None = None
        # code -> (boundaries, answer per interval): see _timeline
        self._timelines: dict[str, tuple[list[datetime], list[Resolution | None]]] = {}

    # --- construction -----------------------------------------------------------------------

    @classmethod
    def empty(cls, *, created_at: datetime | None = None) -> Registry:
        """Version 0: no agencies, no successions."""
        info = VersionInfo(0, created_at or datetime.now(UTC), "system", "empty registry")
        return cls({}, {}, VersionLog((info,)))

    @classmethod
    def build(
        cls,
        agencies: Iterable[Agency],
        successions: Iterable[Succession] = (),
        *,
        author: str = "system",
        reason: str = "initial load",
        created_at: datetime | None = None,
    ) -> Registry:
        """Version 1 holding ``agencies`` and ``successions`` (one ``add``/``succession`` each)."""
        changes: list[Change] = [Change("add", a.code, None, a) for a in agencies]
        changes += [Change("succession", s.from_code, None, s) for s in successions]
        return cls.empty(created_at=created_at).apply(
            changes, author=author, reason=reason, created_at=created_at
        )

    @classmethod
    def from_snapshot(
        cls,
        agencies: Iterable[Agency],
        successions: Iterable[Succession],
        log: VersionLog,
    ) -> Registry:
        """A registry from stored state plus its version log (the store's fast load path)."""
        return cls(
            {a.key: a for a in agencies},
            {s.key: s for s in successions},
            log,
        )

    # --- reading ----------------------------------------------------------------------------

    @property
    def log(self) -> VersionLog:
        """Every version up to this one, with its change log."""
        return self._log

    def __len__(self) -> int:
        return len(self._agencies)

    def __repr__(self) -> str:
        return (
            f"<Registry v{self.version}: {len(self._agencies)} agencies, "
            f"{len(self._successions)} successions>"
        )

    def agencies(self) -> Iterator[Agency]:
        """Every agency record (all validity intervals), by code then start."""
        for code in sorted(self._by_code):
            yield from self._by_code[code]

    def successions(self) -> Iterator[Succession]:
        """Every succession, by closed code then effective instant."""
        for code in sorted(self._succ_by_code):
            yield from self._succ_by_code[code]

    def canonical(self, code: str) -> str:
        """``code`` as this registry stores it.

        People write a level-1 agency by its body alone ("H63" for UBND tỉnh Yên Bái) while
        the registry stores the full QCVN form ``000.00.00.H63``; a bare body that is not itself
        stored is read as that full form. Any other code is returned unchanged.
        """
        if code in self._by_code or code in self._succ_by_code:
            return code
        full = level1_full_form(code)
        if full is not None and (full in self._by_code or full in self._succ_by_code):
            return full
        return code

    def records(self, code: str) -> tuple[Agency, ...]:
        """Every record of ``code`` (a re-used code has several), oldest first."""
        return self._by_code.get(self.canonical(code), ())

    def successions_of(self, code: str) -> tuple[Succession, ...]:
        """Every succession closing ``code``, oldest first."""
        return self._succ_by_code.get(self.canonical(code), ())

    def predecessors_of(self, code: str) -> tuple[Succession, ...]:
        """Successions whose successors include ``code`` (who now sends their mail here)."""
        code = self.canonical(code)
        return tuple(s for s in self.successions() if any(x.code == code for x in s.successors))

    def get(self, code: str, at: datetime | None = None) -> Agency | None:
        """The record of ``code`` in force at ``at``; with no ``at``, the one in force now or,
        failing that, the latest one (so a closed agency can still be shown)."""
        records = self._by_code.get(self.canonical(code))
        if not records:
            return None
        moment = as_utc(at, "at") if at is not None else datetime.now(UTC)
        for record in records:
            if record.valid_at(moment):
                return record
        return None if at is not None else records[-1]

    def get_record(self, key: tuple[str, datetime | None]) -> Agency | None:
        """The record with exactly this ``(code, valid_from)`` key."""
        return self._agencies.get(key)

    def get_succession(self, key: tuple[str, datetime]) -> Succession | None:
        """The succession with exactly this ``(from_code, effective)`` key."""
        return self._successions.get(key)

    # --- resolve ----------------------------------------------------------------------------

    def resolve(
        self, code: str, at: datetime, *, addressed_at: datetime | None = None
    ) -> Resolution:
        """The agency that does ``code``'s work at ``at`` (aware), following successions.

        ``addressed_at`` is when the sender wrote the code (a document's promulgation date). A
        re-used code (old commune 00016 split, its code now naming one of its successors) means
        at ``at`` the unit that holds it then; a document addressed *before* the change meant the
        old unit, whose work now lies with all its successors. With ``addressed_at`` the code is
        read with the meaning it had then and that unit is followed to ``at``; without it, or when
        the meaning did not change, the answer is the plain one.

        Fast path: ``code`` itself is in force at ``at``; with ``at`` in UTC this is two dict/list
        reads and two comparisons, and returns the memoised Resolution when ``at`` repeats. A code
        not in force at ``at`` is answered from its timeline: one bisect over the instants where
        its answer changes, the chain walked once per interval.
        """
        moment = at if at.tzinfo is UTC else as_utc(at, "at")
        if addressed_at is not None:
            meant = record_at(
                self._by_code, self.canonical(code), as_utc(addressed_at, "addressed_at")
            )
            if meant is not None and meant.valid_until is not None and meant.valid_until <= moment:
                return follow(
                    self._by_code,
                    self._succ_by_code,
                    code,
                    self.canonical(code),
                    moment,
                    old_meaning=meant,
                )
        slots = self._fast.get(code)
        if slots is not None:
            for slot in slots:
                if slot[0] <= moment < slot[1]:  # type: ignore[operator]
                    memo = slot[3]
                    if memo is not None and memo.at == moment:  # type: ignore[attr-defined]
                        return memo  # type: ignore[return-value]
                    agency = slot[2]
                    fresh = _new_tuple(Resolution, (code, moment, "active", agency, (), (), agency))
                    slot[3] = fresh
                    return fresh
        # not in force: the code's timeline of constant intervals, so a new instant is one
        # bisect and one copy, and the chain is walked once per interval (a version never
        # changes, so an interval's answer never does)
        timeline = self._timelines.get(code) or self._timeline(code)
        if timeline is None:
            return follow(self._by_code, self._succ_by_code, code, self.canonical(code), moment)
        bounds, answers = timeline
        index = bisect_right(bounds, moment)
        known = answers[index]
        if known is None:
            known = follow(self._by_code, self._succ_by_code, code, self.canonical(code), moment)
        elif known.at != moment:
            _, _, status, agency, hops, candidates, last = known
            known = _new_tuple(Resolution, (code, moment, status, agency, hops, candidates, last))
        else:
            return known
        answers[index] = known  # the latest answer, so a repeated instant allocates nothing
        return known

    def _timeline(self, code: str) -> tuple[list[datetime], list[Resolution | None]] | None:
        """The boundaries of ``code``'s constant answers and a slot per interval, built on the
        first resolve of the code that misses the fast path; ``None`` past the bounds."""
        if len(self._timelines) >= _TIMELINES_MAX:
            return None
        bounds = boundaries(
            self._by_code, self._succ_by_code, self.canonical(code), _TIMELINE_REACH
        )
        if bounds is None:
            return None
        timeline: tuple[list[datetime], list[Resolution | None]] = (
            bounds,
            [None] * (len(bounds) + 1),
        )
        self._timelines[code] = timeline
        return timeline

    # --- search -----------------------------------------------------------------------------

    def search(self, text: str, *, limit: int = 20, at: datetime | None = None) -> list[Agency]:
        """Records whose name, short name or code matches ``text``.

        Normalisation: NFC, one tone placement, case-folded, punctuation-insensitive; a query
        typed without diacritics matches names with them, one typed with them must match them
        (so "Thanh Hòa" does not find "Thanh Hóa"). The words must appear as a phrase starting at
        a word start. Ranking: the code itself, then an exact (short) name, then names starting
        with the phrase, then the rest; ties by code. ``at`` keeps only records in force then.
        The name keys are built on the first search of this version (:mod:`registry.search`).
        """
        if self._names is None:
            self._names = name_index(self.agencies())
        moment = as_utc(at, "at") if at is not None else None
        return _search(self._names, text, canonical=self.canonical, limit=limit, at=moment)

    # --- change -----------------------------------------------------------------------------

    def apply(
        self,
        changes: Sequence[Change],
        *,
        author: str,
        reason: str,
        effective: datetime | None = None,
        created_at: datetime | None = None,
    ) -> Registry:
        """A new version with ``changes`` applied, all or nothing.

        Each change must start from the current state (``before`` equal to the stored record)
        so that a plan made against an older version cannot silently overwrite newer facts.
        Changes that change nothing are dropped; if none remain, ``self`` is returned (same
        version). ``effective`` records when the version is meant to take effect; the instants
        inside the records are what ``resolve`` reads.
        """
        agencies = dict(self._agencies)
        successions = dict(self._successions)
        applied: list[Change] = []
        for index, change in enumerate(changes):
            where = f"change {index} ({change.op} {change.code})"
            if apply_change(change, agencies, successions, where):
                applied.append(change)
        if not applied:
            return self
        check_overlaps(agencies, {c.code for c in applied if isinstance(c.after, Agency)})
        info = VersionInfo(
            number=self.version + 1,
            created_at=created_at or datetime.now(UTC),
            author=author,
            reason=reason,
            changes=tuple(applied),
            effective=None if effective is None else as_utc(effective, "effective"),
        )
        return Registry(agencies, successions, self._log.append(info))
