"""What a verification reads off a signer certificate, computed once per certificate per verifier.

A verifier meets the same few signers document after document; their subject string, serial,
agency codes, key size and libxmlsec1 key cost tens of microseconds to derive, a dictionary lookup
one. The table belongs to the :class:`signing.Verifier` that uses it (no module state: two
verifiers, two tables, closed with their owner), is bounded, and is keyed by the certificate
object itself, whose hash and equality cover its whole DER: a look-alike certificate never picks
up another's facts, and no ``id()`` can be recycled under an entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar

import xmlsec
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from signing.binding import SubjectCodes, certificate_sha256, issuer_serial_key, subject_codes
from signing.engine import xmlsec_key
from signing.keyinfo import PublicKey

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class CertFacts:
    """The facts of one certificate a report states or a check needs."""

    subject: str  # RFC 4514
    serial: str  # upper-case hex
    agency_codes: frozenset[str]  # the implicit binding: zero or one code (signing.binding)
    public_key: PublicKey | None  # None: a key type we do not verify with
    rsa_bits: int | None  # None: not RSA
    sha256: str = ""  # hex SHA-256 of the DER: the key of an explicit binding (axis.signers)
    issuer: str = ""  # RFC 4514
    issuer_serial: str = ""  # the other key of an explicit binding (signing.binding)
    codes: SubjectCodes = field(default_factory=lambda: SubjectCodes(None, ()))  # all it names

    def names_agency(self, code: str) -> bool:
        """Whether the certificate names exactly this agency code (see :mod:`signing.binding`)."""
        wanted = code.strip().upper()
        return bool(wanted) and wanted in self.agency_codes


class CertFactsCache:
    """A bounded table of :class:`CertFacts` (and libxmlsec1 keys) by certificate."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._facts: dict[x509.Certificate, CertFacts] = {}
        self._keys: dict[x509.Certificate, xmlsec.Key] = {}

    def __len__(self) -> int:
        return len(self._facts)

    def of(self, cert: x509.Certificate) -> CertFacts:
        """The facts of ``cert``, derived on first sight."""
        hit = self._facts.get(cert)
        if hit is not None:
            return hit
        key = cert.public_key()
        public = key if isinstance(key, PublicKey) else None
        codes = subject_codes(cert.subject)
        facts = CertFacts(
            subject=cert.subject.rfc4514_string(),
            serial=format(cert.serial_number, "X"),
            agency_codes=frozenset(() if codes.implicit is None else (codes.implicit,)),
            public_key=public,
            rsa_bits=key.key_size if isinstance(key, rsa.RSAPublicKey) else None,
            sha256=certificate_sha256(cert),
            issuer=cert.issuer.rfc4514_string(),
            issuer_serial=issuer_serial_key(cert.issuer, cert.serial_number),
            codes=codes,
        )
        _bounded_put(self._facts, cert, facts, self.max_entries)
        return facts

    def xmlsec_key(self, cert: x509.Certificate) -> xmlsec.Key:
        """The libxmlsec1 (bare public) key of ``cert``, loaded on first use."""
        hit = self._keys.get(cert)
        if hit is not None:
            return hit
        loaded = xmlsec_key(cert)
        _bounded_put(self._keys, cert, loaded, self.max_entries)
        return loaded

    def clear(self) -> None:
        """Forget everything (the owner closes, or wants the memory back)."""
        self._facts.clear()
        self._keys.clear()


def _bounded_put(
    table: dict[x509.Certificate, V], cert: x509.Certificate, value: V, limit: int
) -> None:
    """Store, evicting the oldest entry first when the table is full (insertion order)."""
    if len(table) >= limit:
        table.pop(next(iter(table)))
    table[cert] = value
