"""What a resolve answers (:class:`Resolution`, :class:`Hop`) and the walk through successions.

:meth:`registry.Registry.resolve` answers an active code itself (its hot path, a dict read); every
other answer comes from :func:`follow`, which walks the successions of a closed code to the agency
that does its work now, and says precisely why when there is none. The walk reads two maps the
registry builds once per version (records by code, successions by closed code), so it can be
tested and reasoned about apart from the caches.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NamedTuple

import structlog

from registry.model import Agency, Succession, SuccessionKind

_log = structlog.get_logger()

ResolutionStatus = Literal[
    "active", "redirected", "ambiguous", "unknown", "closed_no_successor", "cycle", "not_yet_valid"
]


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a resolution: ``from_code`` was closed and ``to_code`` took over."""

    from_code: str
    to_code: str
    kind: SuccessionKind
    effective: datetime
    legal_basis: str

    def to_dict(self) -> dict[str, str]:
        """The JSON shape every output shows (the CLI's ``--json``, the API, the trace)."""
        return {
            "from": self.from_code,
            "to": self.to_code,
            "kind": self.kind.value,
            "effective": self.effective.isoformat(),
            "legal_basis": self.legal_basis,
        }


class Resolution(NamedTuple):
    """Where mail for ``requested`` goes at ``at``, and how we got there.

    ``agency`` is set only for ``active`` (the code itself is in force) and ``redirected`` (the
    agency at the end of ``hops``). Every other status is a refusal the caller must handle;
    ``candidates`` lists the successor codes of an ``ambiguous`` split. ``last_known`` is for
    messages: the agency itself when active, else the last closed record met on the way (the
    closed H63 of a redirect to H38, the split commune of an ambiguity).

    Immutable, and a named tuple rather than a frozen dataclass on purpose: every resolve at a
    new instant allocates one, and ``tuple.__new__`` builds it five times faster than setting
    a frozen dataclass's slots, which is what lets the broker resolve over a million recipients
    a second with a different instant each time (``benchmarks/bench_registry.py``). Read it by
    attribute; its tuple-ness is not part of the API.
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


RecordsByCode = Mapping[str, tuple[Agency, ...]]
SuccessionsByCode = Mapping[str, tuple[Succession, ...]]


def record_at(by_code: RecordsByCode, code: str, at: datetime) -> Agency | None:
    """The record of ``code`` in force at ``at`` (records of one code never overlap)."""
    for record in by_code.get(code, ()):
        if record.valid_at(at):
            return record
    return None


def succession_at(succ_by_code: SuccessionsByCode, code: str, at: datetime) -> Succession | None:
    """The latest succession closing ``code`` that is in effect at ``at``."""
    items = succ_by_code.get(code)
    if not items:
        return None
    index = bisect.bisect_right([s.effective for s in items], at)
    return items[index - 1] if index else None


def _dead_end(
    by_code: RecordsByCode, requested: str, code: str, at: datetime, hops: list[Hop]
) -> Resolution:
    """No record in force and no succession in effect for ``code``: say precisely why."""
    records = by_code.get(code, ())
    past = [r for r in records if r.valid_until is not None and r.valid_until <= at]
    if past:
        status: ResolutionStatus = "closed_no_successor"
        last: Agency | None = past[-1]
    elif records:
        status, last = "not_yet_valid", records[0]
    else:
        status, last = "unknown", None
    return Resolution(requested, at, status, None, tuple(hops), (), last)


def boundaries(
    by_code: RecordsByCode, succ_by_code: SuccessionsByCode, start: str, limit: int
) -> list[datetime] | None:
    """Every instant at which :func:`follow` from ``start`` may change its answer, sorted.

    The walk compares ``at`` only with the validity bounds of the records and the effective
    instants of the successions of codes reachable from ``start``; between two consecutive
    boundaries every comparison comes out the same, so the answer is constant (but for ``at``).
    ``None`` when more than ``limit`` codes are reachable (not worth a timeline).
    """
    instants: set[datetime] = set()
    seen = {start}
    todo = [start]
    while todo:
        code = todo.pop()
        for record in by_code.get(code, ()):
            if record.valid_from is not None:
                instants.add(record.valid_from)
            if record.valid_until is not None:
                instants.add(record.valid_until)
        for succession in succ_by_code.get(code, ()):
            instants.add(succession.effective)
            for successor in succession.successors:
                if successor.code not in seen:
                    if len(seen) >= limit:
                        return None
                    seen.add(successor.code)
                    todo.append(successor.code)
    return sorted(instants)


def follow(
    by_code: RecordsByCode,
    succ_by_code: SuccessionsByCode,
    requested: str,
    start: str,
    at: datetime,
    *,
    old_meaning: Agency | None = None,
) -> Resolution:
    """Follow successions from ``start`` (``requested`` as the registry stores it) to ``at``.

    With ``old_meaning`` (a record of the code that is closed by ``at``) the walk starts from
    that record's own succession, not from the code's present holder. A split without a primary
    successor stops as ``ambiguous`` (never a silent guess); a chain that comes back to a code
    already visited stops as ``cycle`` (a data error, logged), never an endless loop.
    """
    hops: list[Hop] = []
    current = start
    # With an old meaning the code may legitimately come back as its own successor.
    seen = set() if old_meaning is not None else {current}
    last: Agency | None = old_meaning
    while True:
        first_of_old = old_meaning is not None and not hops
        record = None if first_of_old else record_at(by_code, current, at)
        if record is not None:
            if not hops:
                return Resolution(requested, at, "active", record, (), (), record)
            return Resolution(requested, at, "redirected", record, tuple(hops), (), last)
        if first_of_old:
            assert old_meaning is not None
            assert old_meaning.valid_until is not None
            succession = succession_at(succ_by_code, current, old_meaning.valid_until)
        else:
            succession = succession_at(succ_by_code, current, at)
        if succession is None:
            return _dead_end(by_code, requested, current, at, hops)
        records = by_code.get(current, ())
        if records and not first_of_old:
            last = records[-1]
        successors = succession.successors
        if len(successors) == 1:
            chosen = successors[0]
        else:
            primaries = [s for s in successors if s.primary]
            if not primaries:
                candidates = tuple(s.code for s in successors)
                return Resolution(requested, at, "ambiguous", None, tuple(hops), candidates, last)
            chosen = primaries[0]
        hops.append(
            Hop(current, chosen.code, chosen.kind, succession.effective, succession.legal_basis)
        )
        if chosen.code in seen:
            _log.warning("registry.cycle", code=requested, path=[h.from_code for h in hops])
            return Resolution(requested, at, "cycle", None, tuple(hops), (), last)
        seen.add(chosen.code)
        current = chosen.code
