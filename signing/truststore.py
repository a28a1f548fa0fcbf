"""Trust anchors and untrusted intermediates, loaded from a directory and reloadable while running.

Why a directory: operators of a closed government network receive new CA certificates (a renewed
sub-CA, a new root generation) as files, and must be able to drop them in without restarting the
axis. The layout is deliberately plain::

    DIR/*.pem|*.crt|*.cer|*.der                 trust anchors (self-signed roots, usually)
    DIR/intermediates/*.pem|*.crt|*.cer|*.der   intermediates: used to BUILD paths, never trusted

Every reload produces a new immutable :class:`TrustSnapshot` that is swapped in atomically under a
lock, so a validation that already took its snapshot finishes with the certificates it started
with; ``version`` increases on every effective change and is part of every validation cache key, so
no result computed under an old trust set is ever served after a reload.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from signing.errors import TrustStoreError as TrustStoreError  # re-exported: its old home

CERT_SUFFIXES = frozenset({".pem", ".crt", ".cer", ".der"})
INTERMEDIATES_DIR = "intermediates"
DEFAULT_ANCHORS_DIR = Path(__file__).resolve().parent / "anchors"

_log = structlog.get_logger()


def fingerprint_sha256(cert: x509.Certificate) -> str:
    """Upper-case hex SHA-256 of the DER encoding, the form the pins in SIGNATURES.md use."""
    return cert.fingerprint(hashes.SHA256()).hex().upper()


def common_name(rfc4514: str) -> str | None:
    """The CN of an RFC 4514 name string (``None`` when it has none), unescaped."""
    match = re.search(r"(?:^|,)CN=((?:[^,\\]|\\.)*)", rfc4514)
    return re.sub(r"\\(.)", r"\1", match.group(1)) if match else None


def load_certificates(data: bytes, location: str) -> list[x509.Certificate]:
    """All certificates in ``data`` (one or many PEM blocks, or one DER certificate)."""
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise TrustStoreError(
            "trust.bad_certificate", f"not a certificate: {exc}", location
        ) from exc
    return certs


def _cert_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(
        p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in CERT_SUFFIXES
    )


def _unique(certs: Iterable[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    seen: set[str] = set()
    out: list[x509.Certificate] = []
    for cert in certs:
        fp = fingerprint_sha256(cert)
        if fp not in seen:
            seen.add(fp)
            out.append(cert)
    return tuple(out)


@dataclass(frozen=True)
class TrustSnapshot:
    """One consistent view of the trust store: what a validation works with from start to end."""

    anchors: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...]
    version: int
    content_digest: str  # SHA-256 over the certificates' fingerprints; detects effective changes

    @property
    def anchor_fingerprints(self) -> frozenset[str]:
        return frozenset(fingerprint_sha256(c) for c in self.anchors)


def _digest(anchors: Sequence[x509.Certificate], inters: Sequence[x509.Certificate]) -> str:
    h = hashlib.sha256()
    for label, certs in (("A", anchors), ("I", inters)):
        for fp in sorted(fingerprint_sha256(c) for c in certs):
            h.update(f"{label}:{fp}\n".encode())
    return h.hexdigest()


class TrustStore:
    """Anchors + intermediates; thread-safe reload from the directory it came from (if any)."""

    def __init__(
        self,
        anchors: Iterable[x509.Certificate],
        intermediates: Iterable[x509.Certificate] = (),
        *,
        directory: Path | None = None,
    ) -> None:
        a, i = _unique(anchors), _unique(intermediates)
        self._directory = directory
        self._lock = threading.Lock()
        self._snapshot = TrustSnapshot(a, i, 1, _digest(a, i))

    @classmethod
    def from_directory(cls, path: Path) -> TrustStore:
        """Load anchors from ``path`` and intermediates from ``path/intermediates``."""
        path = Path(path)
        if not path.is_dir():
            raise TrustStoreError("trust.no_directory", "trust directory does not exist", str(path))
        anchors, inters = cls._read(path)
        return cls(anchors, inters, directory=path)

    @classmethod
    def default(cls) -> TrustStore:
        """The shipped anchors: VGCA G1 and G2 roots (NEAC is deliberately absent)."""
        return cls.from_directory(DEFAULT_ANCHORS_DIR)

    @staticmethod
    def _read(path: Path) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
        anchors: list[x509.Certificate] = []
        for f in _cert_files(path):
            anchors.extend(load_certificates(f.read_bytes(), str(f)))
        inters: list[x509.Certificate] = []
        for f in _cert_files(path / INTERMEDIATES_DIR):
            inters.extend(load_certificates(f.read_bytes(), str(f)))
        return anchors, inters

    def snapshot(self) -> TrustSnapshot:
        """The current consistent view; keep it for the duration of one validation."""
        return self._snapshot

    def reload(self) -> bool:
        """Re-read the directory; True if the set of certificates changed (then ``version`` bumps).

        A directory that fails to load leaves the current snapshot in place and raises, so a
        half-copied file never empties the trust store of a running axis.
        """
        if self._directory is None:
            return False
        anchors, inters = self._read(self._directory)
        a, i = _unique(anchors), _unique(inters)
        digest = _digest(a, i)
        with self._lock:
            old = self._snapshot
            if digest == old.content_digest:
                return False
            self._snapshot = TrustSnapshot(a, i, old.version + 1, digest)
        _log.info(
            "truststore.reloaded",
            directory=str(self._directory),
            version=old.version + 1,
            anchors=len(a),
            intermediates=len(i),
        )
        return True

    @property
    def directory(self) -> Path | None:
        return self._directory

    @property
    def anchors(self) -> tuple[x509.Certificate, ...]:
        return self._snapshot.anchors

    @property
    def intermediates(self) -> tuple[x509.Certificate, ...]:
        return self._snapshot.intermediates

    @property
    def version(self) -> int:
        return self._snapshot.version
