"""A signer's revocation status, established from the CRL / OCSP data the cache holds or fetches.

Kept apart from path building (:mod:`signing.certpath`): which data covers which certificate of
the chain, what it says about the leaf at the trusted time (``good`` -- possibly "good at that
time, revoked later" --, ``revoked``, ``unknown``), and when a later revocation cuts the window in
which a cached path result may be reused. pyhanko-certvalidator still *verifies* that data; this
module only collects it and states the leaf's status for the report.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from cryptography import x509

from signing.revocation import CachedCrl, CachedOcsp, RevocationCache, crl_urls, ocsp_urls


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def iso(dt: datetime) -> str:
    return _utc(dt).strftime("%Y-%m-%dT%H:%M:%SZ")


def camel(reason: str) -> str:
    head, *rest = reason.split("_")
    return head + "".join(p.capitalize() for p in rest)


@dataclass(frozen=True)
class RevocationStatus:
    """The leaf's revocation state as far as we could establish it."""

    status: Literal["good", "revoked", "unknown", "not_checked"]
    source: Literal["crl", "ocsp"] | None
    detail: str  # e.g. "revoked 2025-03-01T00:00:00Z reason keyCompromise"


NOT_CHECKED = RevocationStatus("not_checked", None, "revocation checking is off")
NOT_REACHED = RevocationStatus("not_checked", None, "the path failed before revocation checking")


def revoked_dates(r: CachedCrl | CachedOcsp, chain: Sequence[x509.Certificate]) -> list[datetime]:
    """Revocation dates (in the future of ``at``) of chain members found in ``r``."""
    out: list[datetime] = []
    if isinstance(r, CachedOcsp):
        if r.status == "revoked" and r.revoked_at is not None:
            out.append(r.revoked_at)
        return out
    for cert in chain[:-1]:
        if cert.issuer.public_bytes() == r.issuer_der and cert.serial_number in r.revoked:
            out.append(r.revoked[cert.serial_number][0])
    return out


async def collect_revocation(
    cache: RevocationCache, mode: str, chain: Sequence[x509.Certificate], when: datetime
) -> tuple[list[CachedCrl | CachedOcsp], RevocationStatus]:
    """Collect CRL/OCSP data for every non-anchor certificate; report the leaf's status."""
    if mode == "off":
        return [], NOT_CHECKED
    revinfo: list[CachedCrl | CachedOcsp] = []
    leaf_status = RevocationStatus(
        "unknown", None, "no CRL or OCSP data available for the signer certificate"
    )
    declared = bool(crl_urls(chain[0]) or ocsp_urls(chain[0]))
    if not declared:
        leaf_status = RevocationStatus(
            "unknown", None, "the signer certificate declares no CRL or OCSP location"
        )
    for i, (cert, issuer) in enumerate(itertools.pairwise(chain)):
        got: CachedCrl | CachedOcsp | None = None
        if ocsp_urls(cert) or i == 0:
            got = await cache.ocsp_for(cert, issuer)
        if (
            isinstance(got, CachedOcsp)
            and got.revoked_at is not None
            and when < got.revoked_at
            and crl_urls(cert)
        ):
            # pyhanko-certvalidator reads an OCSP "revoked" dated after the validation time
            # as a failed check; a CRL states the same fact in a form it accepts.
            got = await cache.crl_for(cert) or got
        if got is None:
            got = await cache.crl_for(cert)
        if got is None:
            continue
        revinfo.append(got)
        if i == 0:
            leaf_status = status_of(got, cert, when)
    return revinfo, leaf_status


def status_of(
    r: CachedCrl | CachedOcsp, cert: x509.Certificate, when: datetime
) -> RevocationStatus:
    if isinstance(r, CachedOcsp):
        if r.status == "revoked" and r.revoked_at is not None:
            detail = f"revoked {iso(r.revoked_at)} reason {camel(r.reason or 'unspecified')}"
            if when < r.revoked_at:
                return RevocationStatus("good", "ocsp", f"good at {iso(when)}; later {detail}")
            return RevocationStatus("revoked", "ocsp", detail)
        nu = iso(r.next_update) if r.next_update else "-"
        return RevocationStatus(
            "good" if r.status == "good" else "unknown",
            "ocsp",
            f"OCSP {r.status}, thisUpdate {iso(r.this_update)} nextUpdate {nu}",
        )
    if cert.serial_number in r.revoked:
        revoked_at, reason = r.revoked[cert.serial_number]
        detail = f"revoked {iso(revoked_at)} reason {camel(reason)}"
        if when < revoked_at:
            return RevocationStatus("good", "crl", f"good at {iso(when)}; later {detail}")
        return RevocationStatus("revoked", "crl", detail)
    nu = iso(r.next_update) if r.next_update else "-"
    return RevocationStatus(
        "good", "crl", f"not on CRL, thisUpdate {iso(r.this_update)} nextUpdate {nu}"
    )
