"""The per-signer cache of certificate path results, with the window in which each holds.

:class:`signing.certpath.PathValidator` asks it first: the second document of a signer costs a
dictionary lookup and a few comparisons instead of a path build. An entry holds for an ``at``
window (the chain's validity, cut at a known future revocation date), for a wall-clock window
(the freshness of the revocation data used), and only while the trust store's version and the
revocation data's version are the ones it was computed under, so a result is never served
across a trust reload or new revocation data.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509

from signing.pathresult import PathResult
from signing.revocation import CachedCrl, CachedOcsp

FAR_PAST = datetime(1, 1, 1, tzinfo=UTC)
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class CachedPath:
    """A path result and where it holds."""

    result: PathResult
    valid_from: datetime  # ``at`` window in which the verdict holds
    valid_until: datetime
    fresh_until: datetime | None  # wall-clock limit (revocation data freshness); None = none
    revinfo: tuple[CachedCrl | CachedOcsp, ...] = ()
    cacheable: bool = True
    trust_version: int = 0
    revocation_version: int = 0  # RevocationCache.data_version() when it was computed


class PathCache:
    """At most ``max_entries`` results, by leaf certificate, oldest dropped first."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        # Keyed by the certificate object itself: its hash and equality cover the whole DER
        # (cheaper than a SHA-256 fingerprint per lookup, and a forged look-alike never matches).
        # The policy is fixed per validator; the trust version is checked on every hit.
        self._results: dict[x509.Certificate, CachedPath] = {}
        # In front of it, the same entries by certificate *identity*: hashing a Certificate costs
        # ~3 µs (it hashes the parsed certificate), an ``id`` lookup 0.1 µs, and KeyInfo parsing is
        # cached so a repeating signer hands us the same object. An entry counts only while
        # ``_generation`` is unchanged: every store or clear of ``_results`` bumps it, so this
        # never serves anything ``_results`` would not (it holds the certificate, so its ``id``
        # cannot be reused meanwhile).
        self._by_identity: dict[int, tuple[x509.Certificate, CachedPath, int]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def lookup(
        self,
        leaf: x509.Certificate,
        when: datetime,
        now: datetime,
        *,
        trust_version: int,
        revocation_version: int,
    ) -> PathResult | None:
        """The hot path: one dict lookup and a few comparisons, no I/O, no path work. The
        result held for ``leaf`` at ``when`` (checked at ``now``), stamped with ``when``."""
        generation = self._generation
        known = self._by_identity.get(id(leaf))
        if known is not None and known[0] is leaf and known[2] == generation:
            entry: CachedPath | None = known[1]
        else:
            entry = self._results.get(leaf)
            if entry is not None:
                if len(self._by_identity) >= self.max_entries:
                    self._by_identity.clear()
                self._by_identity[id(leaf)] = (leaf, entry, generation)
        if entry is None or entry.trust_version != trust_version:
            return None
        if entry.revocation_version != revocation_version:
            return None
        if not (entry.valid_from <= when <= entry.valid_until):
            return None
        if entry.fresh_until is not None and now >= entry.fresh_until:
            return None
        r = entry.result
        return PathResult(r.ok, r.reason, r.message, r.chain, r.revocation, when, True)

    def remember(self, leaf: x509.Certificate, entry: CachedPath) -> None:
        """Keep ``entry`` for ``leaf`` (the oldest entry goes when full)."""
        with self._lock:
            if len(self._results) >= self.max_entries and leaf not in self._results:
                self._results.pop(next(iter(self._results)))  # oldest first (insertion order)
            self._results[leaf] = entry
            self._generation += 1  # after the store: a reader that sees the new generation
            self._by_identity.clear()  # also sees the new entry

    def clear(self) -> None:
        """Forget every result."""
        with self._lock:
            self._results.clear()
            self._generation += 1
            self._by_identity.clear()

    def entries(self) -> list[CachedPath]:
        """A copy of the entries held (for a prefetch of their revocation data)."""
        with self._lock:
            return list(self._results.values())
