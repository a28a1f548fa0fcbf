"""The registry's values: agencies, successions, changes and version records.

All values are frozen: a registry version is a snapshot that many readers share without locks, and
a change is a new version, never an edit in place. Every instant is timezone-aware and normalised to
UTC on construction, so comparisons are cheap and a naive datetime can never slip in (Vietnamese
legal dates are local midnights: use :func:`vn_midnight`).

A code is NOT a unique key: codes are re-used with a new meaning (commune 00004, province 15), so
the registry keys an agency record by ``(code, valid_from)``; each record has a half-open validity
interval ``[valid_from, valid_until)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

VN_TZ: Final = ZoneInfo("Asia/Ho_Chi_Minh")
"""Vietnam's time zone (UTC+7, no daylight saving): legal dates are midnights here."""


def vn_midnight(day: date) -> datetime:
    """00:00 in Vietnam on ``day``, as a UTC instant (the moment a decision takes effect)."""
    return datetime(day.year, day.month, day.day, tzinfo=VN_TZ).astimezone(UTC)


CUTOVER_2025: Final = vn_midnight(date(2025, 7, 1))
"""The 2025 cut-over: 2025-07-01T00:00 Asia/Ho_Chi_Minh = 2025-06-30T17:00Z."""

QD09_2025: Final = vn_midnight(date(2025, 4, 14))
"""QĐ 09/2025/QĐ-TTg (new ministry codes) took effect the day it was signed, 14/4/2025."""


def as_utc(moment: datetime, what: str = "instant") -> datetime:
    """``moment`` in UTC; a naive datetime is refused because its meaning is a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    if moment.tzinfo is UTC:
        return moment
    return moment.astimezone(UTC)


def _opt_utc(moment: datetime | None, what: str) -> datetime | None:
    return None if moment is None else as_utc(moment, what)


class FrozenMap(Mapping[str, str]):
    """An immutable, hashable ``str -> str`` mapping (contacts, delivery preferences).

    A plain dict would make a frozen Agency unhashable and mutable through the back door.
    """

    __slots__ = ("_hash", "_items")

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items: dict[str, str] = dict(sorted((items or {}).items()))
        self._hash: int | None = None

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple(self._items.items()))
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"FrozenMap({self._items!r})"


EMPTY_MAP: Final = FrozenMap()


def _frozen(value: Mapping[str, str] | None) -> FrozenMap:
    if isinstance(value, FrozenMap):
        return value
    return FrozenMap(value) if value else EMPTY_MAP


class SuccessionKind(StrEnum):
    """How a closed code's work passed on."""

    MERGED = "merged"
    RENAMED = "renamed"
    SPLIT = "split"
    ABSORBED = "absorbed"


@dataclass(frozen=True, slots=True)
class Successor:
    """One successor of a closed code; ``primary`` picks the one a split code's mail goes to."""

    code: str
    kind: SuccessionKind
    primary: bool = False


@dataclass(frozen=True, slots=True)
class Succession:
    """``from_code`` was closed at ``effective`` and its work went to ``successors``."""

    from_code: str
    successors: tuple[Successor, ...]
    effective: datetime
    legal_basis: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "effective", as_utc(self.effective, "Succession.effective"))
        object.__setattr__(self, "successors", tuple(self.successors))
        if not self.successors:
            raise ValueError(f"succession of {self.from_code} has no successor")
        if sum(1 for s in self.successors if s.primary) > 1:
            raise ValueError(f"succession of {self.from_code} has more than one primary")

    @property
    def key(self) -> tuple[str, datetime]:
        """Identity inside a registry: a code can be closed more than once over the years."""
        return (self.from_code, self.effective)


@dataclass(frozen=True, slots=True)
class Agency:
    """One agency (or administrative unit) record, valid over ``[valid_from, valid_until)``.

    ``None`` bounds are open: valid since forever / until further notice. ``inferred`` marks seed
    facts derived by a rule (alphabetical H codes ...) that an official import should replace.
    """

    code: str
    name: str
    short_name: str = ""
    kind: str = ""
    parent: str | None = None
    admin_unit: str | None = None
    contact: Mapping[str, str] = field(default=EMPTY_MAP)
    delivery: Mapping[str, str] = field(default=EMPTY_MAP)
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    inferred: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "contact", _frozen(self.contact))
        object.__setattr__(self, "delivery", _frozen(self.delivery))
        start = _opt_utc(self.valid_from, "Agency.valid_from")
        end = _opt_utc(self.valid_until, "Agency.valid_until")
        if start is not None and end is not None and end <= start:
            raise ValueError(f"agency {self.code}: valid_until {end} is not after {start}")
        object.__setattr__(self, "valid_from", start)
        object.__setattr__(self, "valid_until", end)

    @property
    def key(self) -> tuple[str, datetime | None]:
        """Identity inside a registry: the same code may be re-used with a new meaning."""
        return (self.code, self.valid_from)

    def valid_at(self, at: datetime) -> bool:
        """Whether this record is in force at ``at`` (an aware instant)."""
        if self.valid_from is not None and at < self.valid_from:
            return False
        return self.valid_until is None or at < self.valid_until


ChangeOp = Literal["add", "update", "close", "succession", "remove_succession"]


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of a version's change log: what the record was before and after.

    ``add``: before None; ``update``/``close``: both set (close = the same record with
    ``valid_until`` set); ``succession``: a new or replaced Succession; ``remove_succession``:
    after None.
    """

    op: ChangeOp
    code: str
    before: Agency | Succession | None
    after: Agency | Succession | None


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """Who made a version, when, why, what changed, and from when it is meant to take effect."""

    number: int
    created_at: datetime
    author: str
    reason: str
    changes: tuple[Change, ...] = ()
    effective: datetime | None = None


# --- JSON shapes: one documented dict form per value, shared by the store, export and imports ---


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _parse_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def agency_to_dict(agency: Agency) -> dict[str, Any]:
    """The JSON form of an agency (instants as ISO 8601 UTC strings)."""
    return {
        "code": agency.code,
        "name": agency.name,
        "short_name": agency.short_name,
        "kind": agency.kind,
        "parent": agency.parent,
        "admin_unit": agency.admin_unit,
        "contact": dict(agency.contact),
        "delivery": dict(agency.delivery),
        "valid_from": _iso(agency.valid_from),
        "valid_until": _iso(agency.valid_until),
        "inferred": agency.inferred,
    }


def agency_from_dict(data: Mapping[str, Any]) -> Agency:
    """Inverse of :func:`agency_to_dict`; missing optional keys take their defaults."""
    return Agency(
        code=str(data["code"]),
        name=str(data["name"]),
        short_name=str(data.get("short_name") or ""),
        kind=str(data.get("kind") or ""),
        parent=data.get("parent"),
        admin_unit=data.get("admin_unit"),
        contact=data.get("contact") or EMPTY_MAP,
        delivery=data.get("delivery") or EMPTY_MAP,
        valid_from=_parse_iso(data.get("valid_from")),
        valid_until=_parse_iso(data.get("valid_until")),
        inferred=bool(data.get("inferred", False)),
    )


def succession_to_dict(succession: Succession) -> dict[str, Any]:
    """The JSON form of a succession."""
    return {
        "from_code": succession.from_code,
        "successors": [
            {"code": s.code, "kind": s.kind.value, "primary": s.primary}
            for s in succession.successors
        ],
        "effective": succession.effective.isoformat(),
        "legal_basis": succession.legal_basis,
    }


def succession_from_dict(data: Mapping[str, Any]) -> Succession:
    """Inverse of :func:`succession_to_dict`."""
    return Succession(
        from_code=str(data["from_code"]),
        successors=tuple(
            Successor(str(s["code"]), SuccessionKind(s["kind"]), bool(s.get("primary", False)))
            for s in data["successors"]
        ),
        effective=datetime.fromisoformat(str(data["effective"])),
        legal_basis=str(data.get("legal_basis") or ""),
    )


def _record_to_dict(record: Agency | Succession | None) -> dict[str, Any] | None:
    if record is None:
        return None
    if isinstance(record, Agency):
        return {"agency": agency_to_dict(record)}
    return {"succession": succession_to_dict(record)}


def _record_from_dict(data: Mapping[str, Any] | None) -> Agency | Succession | None:
    if data is None:
        return None
    if "agency" in data:
        return agency_from_dict(data["agency"])
    return succession_from_dict(data["succession"])


def change_to_dict(change: Change) -> dict[str, Any]:
    """The JSON form of a change-log entry."""
    return {
        "op": change.op,
        "code": change.code,
        "before": _record_to_dict(change.before),
        "after": _record_to_dict(change.after),
    }


def change_from_dict(data: Mapping[str, Any]) -> Change:
    """Inverse of :func:`change_to_dict`."""
    op = data["op"]
    if op not in ("add", "update", "close", "succession", "remove_succession"):
        raise ValueError(f"unknown change op {op!r}")
    return Change(
        op=op,
        code=str(data["code"]),
        before=_record_from_dict(data.get("before")),
        after=_record_from_dict(data.get("after")),
    )


def version_info_to_dict(info: VersionInfo, *, with_changes: bool = True) -> dict[str, Any]:
    """The JSON form of a version record."""
    out: dict[str, Any] = {
        "number": info.number,
        "created_at": info.created_at.isoformat(),
        "author": info.author,
        "reason": info.reason,
        "effective": _iso(info.effective),
        "change_count": len(info.changes),
    }
    if with_changes:
        out["changes"] = [change_to_dict(c) for c in info.changes]
    return out


def version_info_from_dict(data: Mapping[str, Any]) -> VersionInfo:
    """Inverse of :func:`version_info_to_dict` (with changes)."""
    created = datetime.fromisoformat(str(data["created_at"]))
    return VersionInfo(
        number=int(data["number"]),
        created_at=created,
        author=str(data["author"]),
        reason=str(data["reason"]),
        changes=tuple(change_from_dict(c) for c in data.get("changes", ())),
        effective=_parse_iso(data.get("effective")),
    )
