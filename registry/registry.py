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
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

import structlog

from registry.model import (
    Agency,
    Change,
    Succession,
    SuccessionKind,
    VersionInfo,
    as_utc,
)
from registry.text import fold_exact, fold_plain, has_diacritics
from registry.versions import VersionLog

_log = structlog.get_logger()

_LEVEL1_PREFIX: Final = "000.00.00."
_LEVEL1_LEN: Final = 3
_MIN: Final = datetime.min.replace(tzinfo=UTC)
_SLOW_MEMO_MAX: Final = 200_000
"""At most this many codes keep their last non-trivial resolution (unknown codes included)."""
_MAX: Final = datetime.max.replace(tzinfo=UTC)

ResolutionStatus = Literal[
    "active", "redirected", "ambiguous", "unknown", "closed_no_successor", "cycle", "not_yet_valid"
]


class RegistryError(ValueError):
    """A change the registry refuses; ``code`` is stable, ``location`` names the record/change."""

    def __init__(self, code: str, message: str, location: str | None = None) -> None:
        where = f" ({location})" if location else ""
        super().__init__(f"{code}: {message}{where}")
        self.code = code
        self.message = message
        self.location = location


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a resolution: ``from_code`` was closed and ``to_code`` took over."""

    from_code: str
    to_code: str
    kind: SuccessionKind
    effective: datetime
    legal_basis: str


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where mail for ``requested`` goes at ``at``, and how we got there.

    ``agency`` is set only for ``active`` (the code itself is in force) and ``redirected`` (the
    agency at the end of ``hops``). Every other status is a refusal the caller must handle;
    ``candidates`` lists the successor codes of an ``ambiguous`` split. ``last_known`` is for
    messages: the agency itself when active, else the last closed record met on the way (the
    closed H63 of a redirect to H38, the split commune of an ambiguity).
    """

    requested: str
    at: datetime
    status: ResolutionStatus
    agency: Agency | None
    hops: tuple[Hop, ...] = ()
    candidates: tuple[str, ...] = ()
    last_known: Agency | None = None

    @property
    def ok(self) -> bool:
        """Whether the code resolved to exactly one agency in force."""
        return self.status in ("active", "redirected")

    @property
    def code(self) -> str | None:
        """The code that mail should be delivered to, when resolved."""
        return None if self.agency is None else self.agency.code


# Setting slots through their member descriptors skips the frozen __setattr__ (about 3x faster);
# used only for the freshly allocated active Resolution of the fast path.
def _slot_setter(name: str) -> Callable[[object, object], None]:
    setter: Callable[[object, object], None] = vars(Resolution)[name].__set__
    return setter


_R_REQUESTED = _slot_setter("requested")
_R_AT = _slot_setter("at")
_R_STATUS = _slot_setter("status")
_R_AGENCY = _slot_setter("agency")
_R_HOPS = _slot_setter("hops")
_R_CANDIDATES = _slot_setter("candidates")
_R_LAST = _slot_setter("last_known")


def _active_resolution(code: str, at: datetime, agency: Agency) -> Resolution:
    res: Resolution = object.__new__(Resolution)
    _R_REQUESTED(res, code)
    _R_AT(res, at)
    _R_STATUS(res, "active")
    _R_AGENCY(res, agency)
    _R_HOPS(res, ())
    _R_CANDIDATES(res, ())
    _R_LAST(res, agency)
    return res


@dataclass(frozen=True, slots=True)
class _NameRow:
    """Search keys of one record, computed once per version on the first search."""

    exact_all: str
    plain_all: str
    exact_names: frozenset[str]
    plain_names: frozenset[str]
    agency: Agency


def _bounds(agency: Agency) -> tuple[datetime, datetime]:
    return (agency.valid_from or _MIN, agency.valid_until or _MAX)


def _record_sort_key(agency: Agency) -> datetime:
    return agency.valid_from or _MIN


class Registry:
    """One immutable version of the registry (see the module docstring)."""

    __slots__ = (
        "_agencies",
        "_by_code",
        "_fast",
        "_log",
        "_names",
        "_slow_memo",
        "_succ_by_code",
        "_successions",
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
            code: tuple(sorted(records, key=_record_sort_key)) for code, records in by_code.items()
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
        self._names: tuple[_NameRow, ...] | None = None
        self._slow_memo: dict[str, Resolution] = {}

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
        if len(code) == _LEVEL1_LEN and code[0].isalpha() and code[1:].isdigit():
            full = _LEVEL1_PREFIX + code
            if full in self._by_code or full in self._succ_by_code:
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
        reads and two comparisons, and returns the memoised Resolution when ``at`` repeats.
        """
        moment = at if at.tzinfo is UTC else as_utc(at, "at")
        if addressed_at is not None:
            meant = self._record_at(self.canonical(code), as_utc(addressed_at, "addressed_at"))
            if meant is not None and meant.valid_until is not None and meant.valid_until <= moment:
                return self._resolve_slow(code, moment, old_meaning=meant)
        slots = self._fast.get(code)
        if slots is not None:
            for slot in slots:
                if slot[0] <= moment < slot[1]:  # type: ignore[operator]
                    memo = slot[3]
                    if memo is not None and memo.at == moment:  # type: ignore[attr-defined]
                        return memo  # type: ignore[return-value]
                    fresh = _active_resolution(code, moment, slot[2])  # type: ignore[arg-type]
                    slot[3] = fresh
                    return fresh
        # closed codes: the last answer per code is kept (a version never changes, so the same
        # (code, instant) always has the same answer); bounded by the number of codes asked
        last = self._slow_memo.get(code)
        if last is not None and last.at == moment:
            return last
        result = self._resolve_slow(code, moment)
        if len(self._slow_memo) < _SLOW_MEMO_MAX or code in self._slow_memo:
            self._slow_memo[code] = result
        return result

    def _record_at(self, code: str, at: datetime) -> Agency | None:
        for record in self._by_code.get(code, ()):
            if record.valid_at(at):
                return record
        return None

    def _succession_at(self, code: str, at: datetime) -> Succession | None:
        items = self._succ_by_code.get(code)
        if not items:
            return None
        index = bisect.bisect_right([s.effective for s in items], at)
        return items[index - 1] if index else None

    def _dead_end(self, requested: str, code: str, at: datetime, hops: list[Hop]) -> Resolution:
        """No record in force and no succession in effect for ``code``: say precisely why."""
        records = self._by_code.get(code, ())
        past = [r for r in records if r.valid_until is not None and r.valid_until <= at]
        if past:
            status: ResolutionStatus = "closed_no_successor"
            last: Agency | None = past[-1]
        elif records:
            status, last = "not_yet_valid", records[0]
        else:
            status, last = "unknown", None
        return Resolution(requested, at, status, None, tuple(hops), (), last)

    def _resolve_slow(
        self, requested: str, at: datetime, *, old_meaning: Agency | None = None
    ) -> Resolution:
        """Follow successions from ``requested``; with ``old_meaning`` (a record of the code that
        is closed by ``at``) start from that record's own succession, not from the code's
        present holder."""
        hops: list[Hop] = []
        current = self.canonical(requested)
        # With an old meaning the code may legitimately come back as its own successor.
        seen = set() if old_meaning is not None else {current}
        last: Agency | None = old_meaning
        while True:
            record = None if old_meaning is not None and not hops else self._record_at(current, at)
            if record is not None:
                if not hops:
                    return Resolution(requested, at, "active", record, (), (), record)
                return Resolution(requested, at, "redirected", record, tuple(hops), (), last)
            if old_meaning is not None and not hops:
                assert old_meaning.valid_until is not None
                succession = self._succession_at(current, old_meaning.valid_until)
            else:
                succession = self._succession_at(current, at)
            if succession is None:
                return self._dead_end(requested, current, at, hops)
            records = self._by_code.get(current, ())
            if records and not (old_meaning is not None and not hops):
                last = records[-1]
            successors = succession.successors
            if len(successors) == 1:
                chosen = successors[0]
            else:
                primaries = [s for s in successors if s.primary]
                if not primaries:
                    candidates = tuple(s.code for s in successors)
                    return Resolution(
                        requested, at, "ambiguous", None, tuple(hops), candidates, last
                    )
                chosen = primaries[0]
            hops.append(
                Hop(current, chosen.code, chosen.kind, succession.effective, succession.legal_basis)
            )
            if chosen.code in seen:
                _log.warning("registry.cycle", code=requested, path=[h.from_code for h in hops])
                return Resolution(requested, at, "cycle", None, tuple(hops), (), last)
            seen.add(chosen.code)
            current = chosen.code

    # --- search -----------------------------------------------------------------------------

    def _name_index(self) -> tuple[_NameRow, ...]:
        if self._names is None:
            rows: list[_NameRow] = []
            for agency in self.agencies():
                names = [n for n in (agency.name, agency.short_name) if n]
                text = " ".join(names)
                rows.append(
                    _NameRow(
                        f" {fold_exact(text)} ",
                        f" {fold_plain(text)} ",
                        frozenset(fold_exact(n) for n in names),
                        frozenset(fold_plain(n) for n in names),
                        agency,
                    )
                )
            self._names = tuple(rows)
        return self._names

    def search(self, text: str, *, limit: int = 20, at: datetime | None = None) -> list[Agency]:
        """Records whose name, short name or code matches ``text``.

        Normalisation: NFC, one tone placement, case-folded, punctuation-insensitive; a query
        typed without diacritics matches names with them, one typed with them must match them
        (so "Thanh Hòa" does not find "Thanh Hóa"). The words must appear as a phrase starting at
        a word start. Ranking: the code itself, then an exact (short) name, then names starting
        with the phrase, then the rest; ties by code. ``at`` keeps only records in force then.
        """
        query = text.strip()
        if not query:
            return []
        moment = as_utc(at, "at") if at is not None else None
        exact = has_diacritics(query)
        needle = fold_exact(query) if exact else fold_plain(query)
        if not needle:
            return []
        padded = f" {needle}"
        code_query = self.canonical(query.upper())
        ranked: list[tuple[int, str, Agency]] = []
        for row in self._name_index():
            agency = row.agency
            key = row.exact_all if exact else row.plain_all
            whole = row.exact_names if exact else row.plain_names
            if agency.code == code_query:
                rank = 0
            elif needle in whole:
                rank = 1
            elif key.startswith(padded):
                rank = 2
            elif padded in key:
                rank = 3
            else:
                continue
            if moment is not None and not agency.valid_at(moment):
                continue
            ranked.append((rank, agency.code, agency))
        ranked.sort(key=lambda item: (item[0], item[1]))
        return [agency for _, _, agency in ranked[:limit]]

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
            if _apply_one(change, agencies, successions, where):
                applied.append(change)
        if not applied:
            return self
        _check_overlaps(agencies, {c.code for c in applied if isinstance(c.after, Agency)})
        info = VersionInfo(
            number=self.version + 1,
            created_at=created_at or datetime.now(UTC),
            author=author,
            reason=reason,
            changes=tuple(applied),
            effective=None if effective is None else as_utc(effective, "effective"),
        )
        return Registry(agencies, successions, self._log.append(info))


def _apply_one(
    change: Change,
    agencies: dict[tuple[str, datetime | None], Agency],
    successions: dict[tuple[str, datetime], Succession],
    where: str,
) -> bool:
    """Applies one change to the working dicts; returns whether it changed anything."""
    before, after = change.before, change.after
    if change.op in ("add", "update", "close"):
        if not isinstance(after, Agency) or (before is not None and not isinstance(before, Agency)):
            raise RegistryError("registry.bad_change", "agency ops carry Agency records", where)
        if after.code != change.code:
            raise RegistryError("registry.bad_change", "after.code differs from the code", where)
        if change.op == "add":
            existing = agencies.get(after.key)
            if existing == after:
                return False
            if existing is not None:
                raise RegistryError("registry.exists", f"{after.key} is already present", where)
            agencies[after.key] = after
            return True
        if before is None:
            raise RegistryError("registry.bad_change", f"{change.op} needs a before record", where)
        current = agencies.get(before.key)
        if current is None:
            if agencies.get(after.key) == after:
                return False
            raise RegistryError("registry.missing", f"no record {before.key}", where)
        if current != before:
            if current == after:
                return False
            raise RegistryError("registry.stale", "before differs from the stored record", where)
        if before == after:
            return False
        del agencies[before.key]
        if after.key in agencies:
            raise RegistryError("registry.exists", f"{after.key} is already present", where)
        agencies[after.key] = after
        return True
    if change.op == "succession":
        if not isinstance(after, Succession):
            raise RegistryError("registry.bad_change", "succession needs a Succession", where)
        existing_s = successions.get(after.key)
        if existing_s == after:
            return False
        if existing_s is not None and existing_s != before:
            raise RegistryError(
                "registry.stale", f"succession {after.key} differs from before", where
            )
        successions[after.key] = after
        return True
    if change.op == "remove_succession":
        if not isinstance(before, Succession):
            raise RegistryError("registry.bad_change", "remove needs a before Succession", where)
        if before.key not in successions:
            return False
        if successions[before.key] != before:
            raise RegistryError("registry.stale", "before differs from the stored one", where)
        del successions[before.key]
        return True
    raise RegistryError("registry.bad_change", f"unknown op {change.op!r}", where)


def _check_overlaps(
    agencies: Mapping[tuple[str, datetime | None], Agency], codes: set[str]
) -> None:
    """Two records of one code in force at once would make ``resolve`` guess: refuse that."""
    by_code: dict[str, list[Agency]] = {code: [] for code in codes}
    for agency in agencies.values():
        bucket = by_code.get(agency.code)
        if bucket is not None:
            bucket.append(agency)
    for code, records in by_code.items():
        records.sort(key=_record_sort_key)
        for older, newer in itertools.pairwise(records):
            if older.valid_until is None or older.valid_until > _record_sort_key(newer):
                raise RegistryError(
                    "registry.overlap",
                    f"two records of {code} overlap: from {older.valid_from} and "
                    f"from {newer.valid_from}",
                    code,
                )
