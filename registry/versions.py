"""Version history: the change log of every version, deltas for incremental sync, diffs.

Every version of the registry records who changed it, when, why and exactly what (a tuple of
:class:`~registry.model.Change`). A system that last synced at version ``n`` asks for
``delta(n)`` and replays those changes; a person comparing two versions asks for ``diff(a, b)``,
which compares the states themselves (so it is right even across versions that undo each other).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from registry.errors import RegistryError
from registry.model import Agency, Change, Succession, VersionInfo, agency_to_dict
from registry.model import succession_to_dict as _succession_to_dict

if TYPE_CHECKING:
    from registry.registry import Registry


class VersionError(RegistryError, LookupError):
    """A version that does not exist in the log; ``code`` is stable."""


@dataclass(frozen=True, slots=True)
class VersionLog:
    """The versions 0..n in order (``versions[i].number == i`` for a complete log).

    A log loaded from a store may start later than 0 (history trimmed); ``first`` says where.
    """

    versions: tuple[VersionInfo, ...]

    def __post_init__(self) -> None:
        if not self.versions:
            raise ValueError("a version log holds at least one version")
        for older, newer in zip(self.versions, self.versions[1:], strict=False):
            if newer.number != older.number + 1:
                raise ValueError(f"version {newer.number} does not follow {older.number}")

    @property
    def latest(self) -> VersionInfo:
        """The newest version."""
        return self.versions[-1]

    @property
    def first(self) -> int:
        """The oldest version number this log still holds."""
        return self.versions[0].number

    def append(self, info: VersionInfo) -> VersionLog:
        """A new log with ``info`` as the next version."""
        return VersionLog((*self.versions, info))

    def __iter__(self) -> Iterator[VersionInfo]:
        return iter(self.versions)

    def __len__(self) -> int:
        return len(self.versions)

    def get(self, number: int) -> VersionInfo:
        """The record of version ``number``."""
        index = number - self.first
        if index < 0 or index >= len(self.versions):
            raise VersionError(
                "version.unknown", f"version {number} is not in {self.first}..{self.latest.number}"
            )
        return self.versions[index]

    def since(self, since_version: int) -> tuple[VersionInfo, ...]:
        """The versions after ``since_version`` (for a consumer that has ``since_version``)."""
        latest = self.latest.number
        if since_version > latest:
            raise VersionError("version.future", f"version {since_version} is newer than {latest}")
        if since_version < self.first - 1:
            raise VersionError(
                "version.trimmed", f"history before {self.first} is gone: take a full export"
            )
        return self.versions[since_version - self.first + 1 :]

    def delta(self, since_version: int) -> tuple[Change, ...]:
        """Every change after ``since_version``, in order: replaying them on a registry at
        ``since_version`` (with :meth:`Registry.apply`) brings it to the latest state."""
        return tuple(change for info in self.since(since_version) for change in info.changes)


@dataclass(frozen=True, slots=True)
class RegistryDiff:
    """What differs between two registry states (``a`` -> ``b``)."""

    from_version: int
    to_version: int
    added: tuple[Agency, ...]
    removed: tuple[Agency, ...]
    changed: tuple[tuple[Agency, Agency], ...]
    successions_added: tuple[Succession, ...]
    successions_removed: tuple[Succession, ...]
    successions_changed: tuple[tuple[Succession, Succession], ...]

    @property
    def is_empty(self) -> bool:
        """Whether the two states are the same."""
        return not (
            self.added
            or self.removed
            or self.changed
            or self.successions_added
            or self.successions_removed
            or self.successions_changed
        )

    def counts(self) -> dict[str, int]:
        """How many of each kind of difference (for summaries)."""
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "changed": len(self.changed),
            "successions_added": len(self.successions_added),
            "successions_removed": len(self.successions_removed),
            "successions_changed": len(self.successions_changed),
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``axis registry diff --json``)."""
        return {
            "from_version": self.from_version,
            "to_version": self.to_version,
            "counts": self.counts(),
            "added": [agency_to_dict(a) for a in self.added],
            "removed": [agency_to_dict(a) for a in self.removed],
            "changed": [
                {"before": agency_to_dict(a), "after": agency_to_dict(b)} for a, b in self.changed
            ],
            "successions_added": [_succession_to_dict(s) for s in self.successions_added],
            "successions_removed": [_succession_to_dict(s) for s in self.successions_removed],
            "successions_changed": [
                {"before": _succession_to_dict(a), "after": _succession_to_dict(b)}
                for a, b in self.successions_changed
            ],
        }


def diff(a: Registry, b: Registry) -> RegistryDiff:
    """The differences from state ``a`` to state ``b``.

    Agency records pair by ``(code, valid_from)``; a record whose key changed (its start moved)
    shows as one removed and one added, because to a consumer it is a different record.
    """
    old_agencies = {x.key: x for x in a.agencies()}
    new_agencies = {x.key: x for x in b.agencies()}
    old_succ = {x.key: x for x in a.successions()}
    new_succ = {x.key: x for x in b.successions()}
    return RegistryDiff(
        from_version=a.version,
        to_version=b.version,
        added=tuple(v for k, v in new_agencies.items() if k not in old_agencies),
        removed=tuple(v for k, v in old_agencies.items() if k not in new_agencies),
        changed=tuple(
            (old_agencies[k], v)
            for k, v in new_agencies.items()
            if k in old_agencies and old_agencies[k] != v
        ),
        successions_added=tuple(v for k, v in new_succ.items() if k not in old_succ),
        successions_removed=tuple(v for k, v in old_succ.items() if k not in new_succ),
        successions_changed=tuple(
            (old_succ[k], v) for k, v in new_succ.items() if k in old_succ and old_succ[k] != v
        ),
    )


def replay(base: Registry, versions: tuple[VersionInfo, ...]) -> Registry:
    """``base`` with each of ``versions`` re-applied in order, keeping their authors and times.

    Used to rebuild an older version from the log (``axis registry diff A B``).
    """
    current = base
    for info in versions:
        nxt = current.apply(
            info.changes,
            author=info.author,
            reason=info.reason,
            effective=info.effective,
            created_at=info.created_at,
        )
        if nxt.version != info.number:
            raise VersionError(
                "version.replay", f"replaying version {info.number} gave {nxt.version}"
            )
        current = nxt
    return current


def registry_at_version(latest: Registry, number: int) -> Registry:
    """The registry as it was at version ``number``, rebuilt by replaying ``latest``'s log."""
    from registry.registry import Registry as _Registry  # deferred: registry imports this module

    log = latest.log
    log.get(number)  # raises version.unknown for a number outside the log
    if number == latest.version:
        return latest
    if log.first != 0:
        raise VersionError("version.trimmed", "the log does not start at version 0")
    start = log.get(0)
    base = _Registry.empty(created_at=start.created_at)
    return replay(base, log.versions[1 : number + 1])
