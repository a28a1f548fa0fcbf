"""Revocation data as parsed: CRLs and OCSP responses with their reuse windows, and the URLs a
certificate names for them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from signing.errors import RevocationFetchError


@dataclass(frozen=True)
class CachedCrl:
    """One CRL as fetched, fed or held on disk, with the window in which it may be reused."""

    der: bytes
    issuer_der: bytes  # DER of the CRL issuer's Name
    this_update: datetime
    next_update: datetime | None
    expires_at: datetime  # when the cache stops serving it (nextUpdate, capped by max_ttl)
    source_url: str | None
    revoked: Mapping[int, tuple[datetime, str]]  # serial -> (revocation date, reason)
    number: int | None = None  # the CRLNumber extension: orders two CRLs of one issuer
    #: the URLs of its IssuingDistributionPoint: where the CA publishes this CRL (refresh source)
    distribution_points: tuple[str, ...] = ()
    issuer: str = ""  # the issuer's name as RFC 4514 text, for messages and health

    @classmethod
    def parse(cls, der: bytes, url: str | None, now: datetime, cap: timedelta) -> CachedCrl:
        """Parse a CRL (DER or PEM) reused until its nextUpdate, at most ``cap`` from ``now``."""
        crl, der = load_crl(der, url or "<fed>")
        next_update = crl.next_update_utc
        expires = min(next_update, now + cap) if next_update else now + cap
        return cls.of(crl, der, url, expires)

    @classmethod
    def of(
        cls, crl: x509.CertificateRevocationList, der: bytes, url: str | None, expires: datetime
    ) -> CachedCrl:
        """The entry of a CRL already loaded, reused until ``expires``."""
        revoked: dict[int, tuple[datetime, str]] = {}
        for entry in crl:
            reason = "unspecified"
            with contextlib.suppress(x509.ExtensionNotFound):
                reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason.name
            revoked[entry.serial_number] = (entry.revocation_date_utc, reason)
        number: int | None = None
        with contextlib.suppress(x509.ExtensionNotFound):
            number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        points: list[str] = []
        with contextlib.suppress(x509.ExtensionNotFound):
            idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
            points = [
                n.value
                for n in idp.full_name or ()
                if isinstance(n, x509.UniformResourceIdentifier) and _is_http(n.value)
            ]
        return cls(
            der,
            crl.issuer.public_bytes(),
            crl.last_update_utc,
            crl.next_update_utc,
            expires,
            url,
            revoked,
            number,
            tuple(points),
            crl.issuer.rfc4514_string(),
        )

    def is_stale(self, now: datetime) -> bool:
        """Past its nextUpdate: the CA has promised a newer CRL by now (a CRL without a
        nextUpdate never goes stale)."""
        return self.next_update is not None and now >= self.next_update

    def signed_by(self, issuer: x509.Certificate) -> bool:
        """Whether ``issuer`` (its name and key) issued this CRL -- checked before the axis acts
        on a CRL itself rather than through pyhanko-certvalidator (which checks on its own)."""
        if issuer.subject.public_bytes() != self.issuer_der:
            return False
        try:
            crl = x509.load_der_x509_crl(self.der)
            return bool(crl.is_signature_valid(issuer.public_key()))  # type: ignore[arg-type]
        except (ValueError, TypeError, UnsupportedAlgorithm):
            return False


def load_crl(data: bytes, location: str) -> tuple[x509.CertificateRevocationList, bytes]:
    """A CRL from DER or PEM bytes, with its DER; ``revocation.bad_crl`` when it is not one."""
    try:
        crl = x509.load_der_x509_crl(data)
        return crl, data
    except ValueError:
        pass
    try:
        crl = x509.load_pem_x509_crl(data)
    except ValueError as exc:
        raise RevocationFetchError("revocation.bad_crl", f"not a CRL: {exc}", location) from exc
    return crl, crl.public_bytes(serialization.Encoding.DER)


def _is_http(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


@dataclass(frozen=True)
class CachedOcsp:
    """One OCSP response for one certificate, with its reuse window."""

    der: bytes
    serial: int
    issuer_key_hash: bytes  # SHA-1 key hash of the issuer (our CertID algorithm)
    status: str  # "good" | "revoked" | "unknown"
    revoked_at: datetime | None
    reason: str | None
    this_update: datetime
    next_update: datetime | None
    expires_at: datetime
    source_url: str | None


def ocsp_cache_key(cert: x509.Certificate, issuer: x509.Certificate) -> tuple[bytes, int]:
    req = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(cert, issuer, hashes.SHA1())  # noqa: S303 - CertID hash, RFC 6960 default
        .build()
    )
    return req.issuer_key_hash, cert.serial_number


def ocsp_request_der(cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
    """A DER OCSP request for ``cert`` (CertID with SHA-1, as RFC 5019 responders expect)."""
    req = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(cert, issuer, hashes.SHA1())  # noqa: S303 - CertID hash, not a signature
        .build()
    )
    return req.public_bytes(serialization.Encoding.DER)


def parse_ocsp(
    der: bytes,
    cert: x509.Certificate,
    issuer: x509.Certificate,
    url: str | None,
    now: datetime,
    cap: timedelta,
    default_ttl: timedelta,
) -> CachedOcsp:
    """Parse a response and pick the single response for ``cert``; raises on mismatch."""
    where = url or "<fed>"
    try:
        resp = ocsp.load_der_ocsp_response(der)
    except ValueError as exc:
        raise RevocationFetchError(
            "revocation.bad_ocsp", f"not an OCSP response: {exc}", where
        ) from exc
    if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise RevocationFetchError(
            "revocation.ocsp_status", f"responder said {resp.response_status.name}", where
        )
    key_hash, serial = ocsp_cache_key(cert, issuer)
    for single in resp.responses:
        if single.serial_number != serial:
            continue
        status = single.certificate_status.name.lower()
        reason = single.revocation_reason.name if single.revocation_reason else None
        next_update = single.next_update_utc
        this_update = single.this_update_utc
        expires = min(next_update, now + cap) if next_update else now + min(default_ttl, cap)
        return CachedOcsp(
            der,
            serial,
            key_hash,
            status,
            single.revocation_time_utc,
            reason,
            this_update,
            next_update,
            expires,
            url,
        )
    raise RevocationFetchError(
        "revocation.ocsp_mismatch", "no response for this certificate", where
    )


def crl_urls(cert: x509.Certificate) -> list[str]:
    """HTTP(S) CRL distribution point URLs of ``cert``."""
    try:
        cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    urls: list[str] = []
    for dp in cdp:
        for name in dp.full_name or []:
            if isinstance(name, x509.UniformResourceIdentifier) and _is_http(name.value):
                urls.append(name.value)
    return urls


def ocsp_urls(cert: x509.Certificate) -> list[str]:
    """OCSP responder URLs from the AIA extension of ``cert``."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    return [
        d.access_location.value
        for d in aia
        if d.access_method == AuthorityInformationAccessOID.OCSP
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
    ]
