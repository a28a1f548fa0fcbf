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


def as_utc(dt: datetime) -> datetime:
    """``dt`` in UTC; a naive time is taken as UTC already (pyhanko and x509 want aware times)."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def iso(dt: datetime) -> str:
    return as_utc(dt).strftime("%Y-%m-%dT%H:%M:%SZ")


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


@dataclass(frozen=True)
class RevocationFinding:
    """A fact about one certificate of the chain that decides the verdict before pyhanko does."""

    index: int  # position in the chain (0: the signer)
    status: RevocationStatus
    message: str


def _name(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string()


def _crl_facts(crl: CachedCrl) -> str:
    nu = iso(crl.next_update) if crl.next_update else "-"
    return f"thisUpdate {iso(crl.this_update)}, nextUpdate {nu}"


def listed_revocation(
    cache: RevocationCache, chain: Sequence[x509.Certificate], when: datetime
) -> RevocationFinding | None:
    """A certificate of the chain that a CRL held here lists as revoked at or before ``when``.

    Checked on the newest CRL of each issuer *whatever its freshness*: a CRL past its nextUpdate
    no longer proves a certificate good, but a serial it lists is still revoked (revocation is
    final; a stale CRL must never turn a known revocation into "unknown" and let it pass under
    soft-fail). The CRL's signature is verified against the issuer of the chain before it counts.
    """
    for i, (cert, issuer) in enumerate(itertools.pairwise(chain)):
        crl = cache.newest_crl(cert.issuer.public_bytes())
        if crl is None or cert.serial_number not in crl.revoked:
            continue
        revoked_at, reason = crl.revoked[cert.serial_number]
        if when < revoked_at or not crl.signed_by(issuer):
            continue
        detail = f"revoked {iso(revoked_at)} reason {camel(reason)}"
        stale = (
            " (past its nextUpdate: a listed serial stays revoked)"
            if crl.is_stale(cache.clock())
            else ""
        )
        message = (
            f"{_name(cert)} (serial {cert.serial_number:X}) was revoked {iso(revoked_at)}, "
            f"reason {camel(reason)}, by the CRL of {_name(issuer)} ({_crl_facts(crl)}){stale}"
        )
        return RevocationFinding(i, RevocationStatus("revoked", "crl", detail), message)
    return None


def _covered(cert: x509.Certificate, revinfo: Sequence[CachedCrl | CachedOcsp]) -> bool:
    issuer = cert.issuer.public_bytes()
    for r in revinfo:
        if isinstance(r, CachedCrl) and r.issuer_der == issuer:
            return True
        if isinstance(r, CachedOcsp) and r.serial == cert.serial_number:
            return True
    return False


def stale_revocation(
    cache: RevocationCache,
    chain: Sequence[x509.Certificate],
    revinfo: Sequence[CachedCrl | CachedOcsp],
) -> RevocationFinding | None:
    """The first certificate of the chain whose only revocation data is a CRL past nextUpdate.

    Only for certificates that declare a CRL or OCSP location (as hard-fail judges) and that no
    fresh data covers. Under hard-fail this refuses ``cert.revocation_unknown``; under soft-fail
    it explains the signer's "unknown" status.
    """
    now = cache.clock()
    for i, (cert, issuer) in enumerate(itertools.pairwise(chain)):
        if not (crl_urls(cert) or ocsp_urls(cert)) or _covered(cert, revinfo):
            continue
        crl = cache.newest_crl(cert.issuer.public_bytes())
        if crl is None or not crl.is_stale(now) or not crl.signed_by(issuer):
            continue
        message = (
            f"the revocation status of {_name(cert)} (serial {cert.serial_number:X}) is unknown: "
            f"the CRL held for {_name(issuer)} is past its nextUpdate ({_crl_facts(crl)}, "
            f"checked at {iso(now)}) and no fresher CRL or OCSP answer is available"
        )
        return RevocationFinding(i, RevocationStatus("unknown", "crl", message), message)
    return None
