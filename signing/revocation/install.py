"""Installing a CRL into a held-CRL folder, only if a trusted CA signed it and it is not older.

The one door through which CRLs enter ``$AXIS_HOME/crl``: ``axis pki crl import`` (an air-gapped
operator's file) and the refresh task (:mod:`axis.crl_refresh`, a download) both call
:func:`install_crl`. A CRL that lands in the folder is believed by every worker -- a listed serial
is refused ``cert.revoked`` even after the CRL's nextUpdate -- so it must come from a CA the trust
store vouches for, and must never replace a newer one (a replayed old CRL would un-revoke).

Checks, each with its own code (:class:`CrlError`, ``crl.*``):

* ``crl.unreadable`` -- not a CRL (DER or PEM);
* ``crl.untrusted_issuer`` -- no CA of the trust store (anchors and intermediates) has the CRL's
  issuer name;
* ``crl.bad_signature`` -- a CA of that name exists, but the CRL's signature does not verify with
  its key (or with any CA of that name);
* ``crl.issuer_not_anchored`` -- the issuing intermediate does not chain to an anchor by signature;
* ``crl.issuer_cannot_sign_crls`` -- the CA's KeyUsage lacks cRLSign;
* ``crl.older`` / ``crl.not_newer`` -- the folder already holds a later CRL of that CA (by
  thisUpdate and CRLNumber), or one issued at the same time with other content.

The file is written under a name derived from the issuer (readable slug + hash of the name), to a
temporary file renamed into place, under an exclusive lock of the folder so that an import and a
refresh never interleave; older files of the same issuer in that folder are removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import structlog
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm

from signing.errors import RevocationFetchError, SigningError
from signing.revocation.data import CachedCrl, load_crl
from signing.revocation.held import CRL_SUFFIX, NEVER, CrlFolder, HeldCrl, newer
from signing.truststore import TrustStore, common_name, fingerprint_sha256

_log = structlog.get_logger()
_LOCK_FILE = ".lock"
_MAX_CHAIN = 8


class CrlError(SigningError, ValueError):
    """A CRL cannot be installed (codes ``crl.*``); ``location`` names the file or URL."""


@dataclass(frozen=True)
class InstalledCrl:
    """What :func:`install_crl` did: the CRL in force now, and what it replaced."""

    held: HeldCrl
    issuer_fingerprint: str  # SHA-256 of the CA certificate whose key signed it
    replaced: CachedCrl | None  # the CRL held before (None: the first of this CA)
    changed: bool  # False: exactly this CRL was already held


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_crl(crl: CachedCrl) -> str:
    """``thisUpdate 2026-11-30T00:00:00Z, nextUpdate ..., number 42`` for messages."""
    nu = _iso(crl.next_update) if crl.next_update else "-"
    number = f", number {crl.number}" if crl.number is not None else ""
    return f"thisUpdate {_iso(crl.this_update)}, nextUpdate {nu}{number}"


def file_name(crl: CachedCrl) -> str:
    """``ca-phuc-vu-cac-co-quan-nha-nuoc-g2-3f2a9c1b0e4d.crl``: readable, unique per issuer."""
    text = common_name(crl.issuer) or "crl"
    text = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    slug = re.sub(r"[^a-z0-9]+", "-", text.encode("ascii", "ignore").decode().lower()).strip("-")
    digest = hashlib.sha256(crl.issuer_der).hexdigest()[:12]
    return f"{slug[:60] or 'crl'}-{digest}{CRL_SUFFIX}"


def _key_usage_allows_crl(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.KeyUsage).value.crl_sign)
    except x509.ExtensionNotFound:
        return True  # no KeyUsage: unrestricted (RFC 5280 4.2.1.3)


def _issued(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _anchored(
    ca: x509.Certificate, anchors: Sequence[x509.Certificate], others: Sequence[x509.Certificate]
) -> bool:
    """Whether ``ca`` is an anchor, or chains to one by signatures through ``others``."""
    current = ca
    for _ in range(_MAX_CHAIN):
        if current in anchors:
            return True
        parent = next((a for a in anchors if _issued(current, a)), None)
        if parent is not None:
            return True
        parent = next((o for o in others if o != current and _issued(current, o)), None)
        if parent is None:
            return False
        current = parent
    return False


def trusted_issuer(crl: CachedCrl, trust: TrustStore, location: str) -> x509.Certificate:
    """The CA certificate of the trust store that signed ``crl``; raises :class:`CrlError`."""
    snap = trust.snapshot()
    anchors, others = list(snap.anchors), list(snap.intermediates)
    named = [c for c in (*anchors, *others) if c.subject.public_bytes() == crl.issuer_der]
    if not named:
        known = "; ".join(sorted({c.subject.rfc4514_string() for c in (*anchors, *others)}))
        raise CrlError(
            "crl.untrusted_issuer",
            f"the CRL is issued by {crl.issuer}, which is not a CA of the trust store "
            f"(it holds: {known or 'nothing'}); only CRLs of trusted CAs are installed",
            location,
        )
    signers = [c for c in named if crl.signed_by(c)]
    if not signers:
        prints = ", ".join(fingerprint_sha256(c)[:16] for c in named)
        raise CrlError(
            "crl.bad_signature",
            f"the CRL names {crl.issuer} as its issuer, but its signature does not verify with "
            f"the key of that CA (certificate SHA-256 {prints}): it was altered, or signed by "
            f"another key",
            location,
        )
    anchored = [c for c in signers if _anchored(c, anchors, others)]
    if not anchored:
        raise CrlError(
            "crl.issuer_not_anchored",
            f"the CRL is signed by {crl.issuer}, but that CA certificate does not chain to a "
            f"trust anchor",
            location,
        )
    allowed = [c for c in anchored if _key_usage_allows_crl(c)]
    if not allowed:
        raise CrlError(
            "crl.issuer_cannot_sign_crls",
            f"the key usage of {crl.issuer} does not include cRLSign",
            location,
        )
    return allowed[0]


def check_crl(data: bytes, trust: TrustStore, location: str) -> tuple[CachedCrl, x509.Certificate]:
    """Parse ``data`` and find the trusted CA that signed it (nothing is written)."""
    try:
        crl, der = load_crl(data, location)
    except RevocationFetchError as exc:
        raise CrlError("crl.unreadable", exc.message, location) from None
    entry = CachedCrl.of(crl, der, None, crl.next_update_utc or NEVER)
    return entry, trusted_issuer(entry, trust, location)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    with (directory / _LOCK_FILE).open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def install_crl(
    data: bytes, directory: Path, trust: TrustStore, *, location: str, source: str | None = None
) -> InstalledCrl:
    """Check ``data`` (a CRL, DER or PEM) and install it into ``directory``.

    ``location`` names the input in errors (a file, a URL); ``source`` is logged (``import``,
    ``refresh``). Raises :class:`CrlError`; on success the CRL is in force for its issuer in
    every process that reads ``directory``.
    """
    entry, ca = check_crl(data, trust, location)
    directory.mkdir(parents=True, exist_ok=True)
    with _locked(directory):
        held = CrlFolder([directory], check_every=0).reload()
        mine = [h for h in held.crls if h.crl.issuer_der == entry.issuer_der]
        current = held.for_issuer(entry.issuer_der)
        if current is not None:
            _refuse_older(entry, current, location)
        target = directory / file_name(entry)
        if current is not None and current.crl.der == entry.der:
            changed = False
        else:
            temporary = directory / f".{target.name}.{uuid.uuid4().hex}.tmp"
            temporary.write_bytes(entry.der)
            with temporary.open("rb") as handle:
                os.fsync(handle.fileno())
            os.replace(temporary, target)
            for old in mine:
                if old.path != target:
                    old.path.unlink(missing_ok=True)
            changed = True
    installed = HeldCrl(entry, target)
    if changed:
        _log.info(
            "crl.installed",
            issuer=entry.issuer,
            this_update=_iso(entry.this_update),
            next_update=_iso(entry.next_update) if entry.next_update else None,
            number=entry.number,
            revoked=len(entry.revoked),
            file=str(target),
            source=source,
        )
    return InstalledCrl(
        installed, fingerprint_sha256(ca), current.crl if current is not None else None, changed
    )


def _refuse_older(entry: CachedCrl, current: HeldCrl, location: str) -> None:
    held = current.crl
    if held.der == entry.der:
        return
    if newer(held, entry) or (
        held.number is not None and entry.number is not None and held.number > entry.number
    ):
        raise CrlError(
            "crl.older",
            f"this CRL of {entry.issuer} ({describe_crl(entry)}) is older than the one held "
            f"({describe_crl(held)}, {current.path.name}); an older CRL could un-revoke "
            f"certificates, so it is refused",
            location,
        )
    if not newer(entry, held):
        raise CrlError(
            "crl.not_newer",
            f"this CRL of {entry.issuer} ({describe_crl(entry)}) was issued at the same time as "
            f"the one held ({describe_crl(held)}, {current.path.name}) but differs from it",
            location,
        )
