"""CRLs held on disk: the folder every verifying process reads, re-read when its files change.

Why a folder: a closed government network receives CRLs as files (``axis pki crl import``), or the
serving process's refresh task downloads them (:mod:`axis.crl_refresh`); the intake's worker
processes each own a verifier and must all see a new CRL without a restart. A directory is the
one thing they share, and it survives restarts.

Reading is cheap enough for the hot path: :meth:`CrlFolder.snapshot` looks at the folder at most
once per ``check_every`` seconds (a monotonic clock), with one ``scandir`` and a ``stat`` per
``*.crl`` file; only when a file's (name, size, mtime, inode) changed are the files parsed again
(a VGCA CRL may list many thousand serials) and :attr:`HeldCrls.version` increases, which tells
the path validator that its cached verdicts may no longer hold. Writers replace files atomically
(:func:`signing.revocation.install.install_crl` writes a temporary file and renames it), so a
reader never parses half a CRL; a file that does not parse is logged and skipped while the others
stay in force.

Which CRL is in force for an issuer: an explicitly given file (``axis verify --crl FILE``) over
anything in a folder; otherwise the newest (thisUpdate, then CRLNumber). A held CRL is kept past
its nextUpdate -- it is *stale*, not gone: a serial it lists stays revoked, and under hard-fail a
certificate it covers is refused ``cert.revocation_unknown`` instead of silently accepted.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog

from signing.errors import RevocationFetchError
from signing.revocation.data import CachedCrl, load_crl

CRL_SUFFIX = ".crl"
NEVER = datetime(9999, 12, 31, tzinfo=UTC)

_log = structlog.get_logger()

FileStamp = tuple[str, int, int, int]  # (path, size, mtime_ns, inode)


@dataclass(frozen=True)
class HeldCrl:
    """One CRL file as read: the parsed CRL, where it lies, and whether it was named explicitly."""

    crl: CachedCrl
    path: Path
    explicit: bool = False  # a file given for one run (``--crl``): wins over folder CRLs

    @property
    def issuer(self) -> str:
        return self.crl.issuer


def read_held(path: Path, *, explicit: bool = False) -> HeldCrl:
    """Parse one CRL file (DER or PEM); ``revocation.bad_crl`` when it is not a CRL.

    A held CRL is served until its nextUpdate (no cap: it was checked against a trusted CA when
    it was installed, and pyhanko-certvalidator checks its signature again on every use).
    """
    crl, der = load_crl(path.read_bytes(), str(path))
    expires = crl.next_update_utc or NEVER
    return HeldCrl(CachedCrl.of(crl, der, None, expires), path, explicit)


def newer(a: CachedCrl, b: CachedCrl) -> bool:
    """Whether ``a`` is a later CRL than ``b`` of the same issuer (thisUpdate, then CRLNumber)."""
    return (a.this_update, a.number or -1) > (b.this_update, b.number or -1)


@dataclass(frozen=True)
class HeldCrls:
    """One consistent view of the held CRLs: what a validation works with."""

    version: int
    crls: tuple[HeldCrl, ...]  # every file that parsed
    in_force: Mapping[bytes, HeldCrl]  # issuer name DER -> the CRL in force for it

    def for_issuer(self, issuer_der: bytes) -> HeldCrl | None:
        return self.in_force.get(issuer_der)


def _in_force(crls: Iterable[HeldCrl]) -> dict[bytes, HeldCrl]:
    chosen: dict[bytes, HeldCrl] = {}
    for held in crls:
        current = chosen.get(held.crl.issuer_der)
        if (
            current is None
            or (held.explicit and not current.explicit)
            or (held.explicit == current.explicit and newer(held.crl, current.crl))
        ):
            chosen[held.crl.issuer_der] = held
    return chosen


class CrlFolder:
    """The CRLs in some directories (``*.crl``) and explicit files, re-read when they change.

    Thread-safe; one per verifying process (each worker's verifier has its own), no module state.
    ``directories`` that do not exist (yet) hold nothing; a file that is missing or does not parse
    is logged and skipped (callers that take a file from a user check it first with
    :func:`read_held`).
    """

    def __init__(
        self,
        directories: Sequence[Path] = (),
        files: Sequence[Path] = (),
        *,
        check_every: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directories = tuple(Path(d) for d in directories)
        self.files = tuple(Path(f) for f in files)
        self.check_every = check_every
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._stamps: tuple[FileStamp, ...] | None = None
        self._next_check = float("-inf")
        self._snapshot = HeldCrls(0, (), {})

    def snapshot(self) -> HeldCrls:
        """The current view; the folder is looked at when ``check_every`` seconds have passed."""
        if self._monotonic() < self._next_check:
            return self._snapshot
        return self.reload()

    def reload(self) -> HeldCrls:
        """Look at the folder now; files are parsed again only if one of them changed."""
        with self._lock:
            self._next_check = self._monotonic() + self.check_every
            stamps = self._stamp()
            if stamps == self._stamps:
                return self._snapshot
            crls: list[HeldCrl] = []
            for path, *_ in stamps:
                held = self._read(Path(path))
                if held is not None:
                    crls.append(held)
            self._stamps = stamps
            old = self._snapshot
            self._snapshot = HeldCrls(old.version + 1, tuple(crls), _in_force(crls))
        _log.info(
            "crl.folder_loaded",
            directories=[str(d) for d in self.directories],
            files=len(stamps),
            issuers=len(self._snapshot.in_force),
            version=self._snapshot.version,
        )
        return self._snapshot

    @property
    def version(self) -> int:
        return self.snapshot().version

    def for_issuer(self, issuer_der: bytes) -> HeldCrl | None:
        """The CRL in force for the issuer with this name (DER), stale or not."""
        return self.snapshot().for_issuer(issuer_der)

    def _read(self, path: Path) -> HeldCrl | None:
        explicit = path in self.files
        try:
            return read_held(path, explicit=explicit)
        except (OSError, RevocationFetchError) as exc:
            _log.warning("crl.file_unreadable", file=str(path), error=str(exc))
            return None

    def _stamp(self) -> tuple[FileStamp, ...]:
        stamps: list[FileStamp] = []
        for directory in self.directories:
            try:
                entries = list(os.scandir(directory))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                if not entry.name.endswith(CRL_SUFFIX) or entry.name.startswith("."):
                    continue
                try:
                    st = entry.stat()
                except FileNotFoundError:  # replaced between scandir and stat
                    continue
                if entry.is_file():
                    stamps.append((entry.path, st.st_size, st.st_mtime_ns, st.st_ino))
        for file in self.files:
            try:
                st = file.stat()
            except FileNotFoundError:
                continue
            stamps.append((str(file), st.st_size, st.st_mtime_ns, st.st_ino))
        return tuple(sorted(stamps))
