"""The agency registry: identifier codes, successions after the 2025 merger, versions, sync.

Documents addressed to a closed agency code must reach the agency that now does its work, with no
day of interruption. This package knows which code means what at which instant:

* :class:`AgencyCode` — parse and validate mã định danh (QCVN 102 and QĐ 20/2020 forms);
* :class:`Agency`, :class:`Succession` — records with validity intervals (codes are re-used);
* :class:`Registry` — one immutable version; ``resolve(code, at)`` follows successions,
  ``search(text)`` matches Vietnamese names however they are spelt, ``apply`` makes the next
  version;
* :func:`diff`, :class:`VersionLog` (``delta``) — what changed, for people and for sync;
* :class:`RegistryStore` — where versions live (the broker's store implements it;
  :class:`MemoryRegistryStore` has no I/O), :func:`load_for` — the few records a lookup needs;
  :mod:`registry.sources` and :mod:`registry.sync` import official lists;
* :class:`RegistryError` — the base of every error here (an ``edxml.CodedError``).

The package imports nothing from ``axis`` or ``signing``.
"""

from registry.codes import AgencyCode, AgencyCodeError
from registry.errors import RegistryError
from registry.model import (
    CUTOVER_2025,
    VN_TZ,
    Agency,
    Change,
    Succession,
    SuccessionKind,
    Successor,
    VersionInfo,
    vn_midnight,
)
from registry.partial import load_for
from registry.registry import Hop, Registry, Resolution
from registry.store import MemoryRegistryStore, RegistryStore, StoreError
from registry.text import fold_exact, fold_plain, same_name
from registry.versions import RegistryDiff, VersionError, VersionLog, diff

__all__ = [
    "CUTOVER_2025",
    "VN_TZ",
    "Agency",
    "AgencyCode",
    "AgencyCodeError",
    "Change",
    "Hop",
    "MemoryRegistryStore",
    "Registry",
    "RegistryDiff",
    "RegistryError",
    "RegistryStore",
    "Resolution",
    "StoreError",
    "Succession",
    "SuccessionKind",
    "Successor",
    "VersionError",
    "VersionInfo",
    "VersionLog",
    "diff",
    "fold_exact",
    "fold_plain",
    "load_for",
    "same_name",
    "vn_midnight",
]
