"""Revocation kept fresh: the serving process keeps every trusted CA's CRL current on disk.

Why: the intake's workers judge revocation from the CRLs held in ``$AXIS_HOME/crl`` (each worker
re-reads the folder when a file changes, :class:`signing.revocation.CrlFolder`). A CRL is good
until its nextUpdate; after that a certificate it does not list is of *unknown* status (hard-fail
refuses it ``cert.revocation_unknown``), so the next CRL must be there before then.

:class:`CrlRefresher` is the background task (started by :mod:`axis.runtime` like the other
periodic jobs, every :data:`CRL_REFRESH_EVERY` seconds). One pass:

* looks at every CA of the trust store (anchors and intermediates) and the CRL held for it;
* a CRL is *due* from ``nextUpdate - min(max_lead, (nextUpdate - thisUpdate) / 2)`` on (6 hours
  before a daily CRL's nextUpdate, half-way through an hourly one), or when none is held yet;
* where ``revocation_fetch`` is on, fetches a due CRL from its distribution points -- the URLs of
  the held CRL's IssuingDistributionPoint, then the CDPs that the trust store's own certificates
  name for that CA -- and installs it through :func:`signing.revocation.install_crl` (the CA must
  have signed it, it must not be older than the one held); with fetch off nothing is fetched, and
  a due or stale CRL is logged for the operator to import (``axis pki crl import``);
* publishes each held CRL's age and seconds to nextUpdate as Prometheus gauges, and logs
  ``crl.refreshed`` / ``crl.refresh_failed`` / ``crl.stale`` / ``crl.no_distribution_point``.

:func:`crl_states` is what ``/v1/health`` and the web console show: one :class:`CrlState` per CRL
in force, read from the folder (files are parsed again only when they changed).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import structlog
from cryptography import x509

from axis.clock import iso
from axis.config import AxisConfig
from axis.metrics import Metrics
from axis.resources import HOME_CRL_DIR, crl_directories
from signing import TrustStore
from signing.revocation import (
    CachedCrl,
    CrlError,
    CrlFolder,
    HeldCrl,
    HttpRevocationFetcher,
    RevocationFetcher,
    RevocationFetchError,
    crl_urls,
    install_crl,
)

_log = structlog.get_logger("axis.crl")

#: Seconds between two refresh passes.
CRL_REFRESH_EVERY = 60.0
#: The longest a CRL is refreshed ahead of its nextUpdate.
MAX_LEAD = timedelta(hours=6)

Now = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class CrlState:
    """One CRL held: whose, issued when, good until when, and whether it is past that."""

    issuer: str  # RFC 4514
    this_update: datetime
    next_update: datetime | None
    age_seconds: float  # now - thisUpdate
    seconds_to_next_update: float | None  # negative: past nextUpdate
    past_next_update: bool  # stale: hard-fail refuses what it covers, unless it lists it revoked
    number: int | None  # CRLNumber
    revoked: int  # serials it lists
    file: str
    distribution_points: tuple[str, ...]  # where it is published (its IssuingDistributionPoint)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (instants as UTC ISO 8601)."""
        return {
            "issuer": self.issuer,
            "this_update": iso(self.this_update),
            "next_update": iso(self.next_update) if self.next_update else None,
            "age_seconds": round(self.age_seconds, 1),
            "seconds_to_next_update": (
                None
                if self.seconds_to_next_update is None
                else round(self.seconds_to_next_update, 1)
            ),
            "past_next_update": self.past_next_update,
            "number": self.number,
            "revoked": self.revoked,
            "file": self.file,
            "distribution_points": list(self.distribution_points),
        }


def crl_state(held: HeldCrl, now: datetime) -> CrlState:
    """The state of one held CRL at ``now``."""
    crl = held.crl
    to_next = (crl.next_update - now).total_seconds() if crl.next_update else None
    return CrlState(
        issuer=crl.issuer,
        this_update=crl.this_update,
        next_update=crl.next_update,
        age_seconds=(now - crl.this_update).total_seconds(),
        seconds_to_next_update=to_next,
        past_next_update=crl.is_stale(now),
        number=crl.number,
        revoked=len(crl.revoked),
        file=str(held.path),
        distribution_points=crl.distribution_points,
    )


def crl_states(folder: CrlFolder, now: datetime) -> list[CrlState]:
    """Every CRL in force in ``folder`` (one per issuing CA), sorted by issuer, at ``now``.

    For ``/v1/health`` and the web console: ``crl_states(runtime.crl.folder, runtime.now())``,
    or ``runtime.crl.states()``. It may parse changed CRL files (large ones take milliseconds), so
    an event loop calls it through ``asyncio.to_thread``.
    """
    held = folder.snapshot()
    return sorted((crl_state(h, now) for h in held.in_force.values()), key=lambda s: s.issuer)


def refresh_at(crl: CachedCrl, max_lead: timedelta = MAX_LEAD) -> datetime | None:
    """When a CRL becomes due for refreshing (``None``: it has no nextUpdate)."""
    if crl.next_update is None:
        return None
    return crl.next_update - min(max_lead, (crl.next_update - crl.this_update) / 2)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def distribution_points(
    ca: x509.Certificate, held: HeldCrl | None, known: Sequence[x509.Certificate]
) -> list[str]:
    """Where ``ca`` publishes its CRL: the held CRL's IssuingDistributionPoint, then the CDPs of
    the certificates ``known`` (the trust store's) that ``ca`` issued."""
    urls: list[str] = list(held.crl.distribution_points) if held is not None else []
    for cert in known:
        if cert.issuer == ca.subject and cert.subject != ca.subject:
            urls.extend(crl_urls(cert))
    return list(dict.fromkeys(urls))


@dataclass(frozen=True)
class RefreshPass:
    """What one pass did, by issuer (RFC 4514)."""

    fetched: tuple[str, ...]
    failed: tuple[str, ...]
    due_without_fetch: tuple[str, ...]
    states: tuple[CrlState, ...]


class CrlRefresher:
    """Keeps the CRLs of the trusted CAs fresh in ``directory``; see the module docstring.

    ``fetcher`` is ``None`` when network fetch is off; ``folder`` reads every CRL directory of
    the deployment (``directory`` among them); ``now`` is the axis's clock.
    """

    def __init__(
        self,
        trust: TrustStore,
        directory: Path,
        folder: CrlFolder,
        *,
        fetcher: RevocationFetcher | None,
        now: Now,
        metrics: Metrics | None = None,
        max_lead: timedelta = MAX_LEAD,
    ) -> None:
        self.trust = trust
        self.directory = directory
        self.folder = folder
        self.fetcher = fetcher
        self.now = now
        self.metrics = metrics
        self.max_lead = max_lead
        self.passes = 0
        self._published: set[str] = set()
        self._told: set[tuple[str, str, datetime | None]] = set()  # warnings given once

    def states(self) -> list[CrlState]:
        """:func:`crl_states` of this deployment's folder, now (call it off the event loop)."""
        return crl_states(self.folder, self.now())

    def _states_after_pass(self) -> list[CrlState]:
        self.folder.reload()  # what this pass installed, not the view of a second ago
        return self.states()

    async def refresh_once(self) -> RefreshPass:
        """One pass: fetch and install what is due, publish the gauges, warn about stale CRLs."""
        held = await asyncio.to_thread(self.folder.reload)
        snap = self.trust.snapshot()
        known = (*snap.anchors, *snap.intermediates)
        fetched: list[str] = []
        failed: list[str] = []
        waiting: list[str] = []
        now = self.now()
        for ca in known:
            if not _is_ca(ca):
                continue
            issuer = ca.subject.rfc4514_string()
            current = held.for_issuer(ca.subject.public_bytes())
            urls = distribution_points(ca, current, known)
            if current is None and not urls:
                continue  # nothing held, nowhere to get it from: nothing to keep fresh
            due = refresh_at(current.crl, self.max_lead) if current is not None else now
            if due is None or now < due:
                continue
            if self.fetcher is None:
                waiting.append(issuer)
                if current is not None:  # one held and going stale: the admin must act
                    self._once("due", issuer, current, "crl.refresh_due_fetch_off")
                elif ("none", issuer, None) not in self._told:
                    # none ever held: revocation is judged under the configured soft/hard rule
                    self._told.add(("none", issuer, None))
                    _log.info("crl.none_held", issuer=issuer, hint="axis pki crl import FILE")
                continue
            if not urls:
                self._once("nodp", issuer, current, "crl.no_distribution_point")
                failed.append(issuer)
                continue
            if await self._fetch(issuer, urls):
                fetched.append(issuer)
            else:
                failed.append(issuer)
        states = await asyncio.to_thread(self._states_after_pass)
        self._publish(states)
        for state in states:
            if state.past_next_update:
                self._told_stale(state)
        self.passes += 1
        return RefreshPass(tuple(fetched), tuple(failed), tuple(waiting), tuple(states))

    async def _fetch(self, issuer: str, urls: Sequence[str]) -> bool:
        assert self.fetcher is not None
        for url in urls:
            try:
                data = await self.fetcher.fetch_crl(url)
                installed = await asyncio.to_thread(
                    install_crl, data, self.directory, self.trust, location=url, source="refresh"
                )
            except (RevocationFetchError, CrlError, OSError) as exc:
                code = getattr(exc, "code", type(exc).__name__)
                _log.warning(
                    "crl.refresh_failed", issuer=issuer, url=url, code=code, error=str(exc)
                )
                continue
            crl = installed.held.crl
            _log.info(
                "crl.refreshed",
                issuer=issuer,
                url=url,
                changed=installed.changed,
                this_update=iso(crl.this_update),
                next_update=iso(crl.next_update) if crl.next_update else None,
                revoked=len(crl.revoked),
            )
            return True
        return False

    def _once(self, kind: str, issuer: str, current: HeldCrl | None, event: str) -> None:
        key = (kind, issuer, current.crl.this_update if current is not None else None)
        if key in self._told:
            return
        self._told.add(key)
        next_update = current.crl.next_update if current is not None else None
        _log.warning(
            event,
            issuer=issuer,
            next_update=iso(next_update) if next_update else None,
            hint="axis pki crl import FILE"
            if event == "crl.refresh_due_fetch_off"
            else "the CRL names no IssuingDistributionPoint and no trusted certificate "
            "names a CDP for this CA: import its CRLs with axis pki crl import",
        )

    def _told_stale(self, state: CrlState) -> None:
        key = ("stale", state.issuer, state.this_update)
        if key in self._told:
            return
        self._told.add(key)
        _log.warning(
            "crl.stale",
            issuer=state.issuer,
            next_update=iso(state.next_update) if state.next_update else None,
            file=state.file,
        )

    def _publish(self, states: Sequence[CrlState]) -> None:
        """One gauge pair per CRL held, computed at scrape time from the axis's clock."""
        if self.metrics is None:
            return
        current = {s.issuer for s in states}
        for gone in self._published - current:
            with contextlib.suppress(KeyError):
                self.metrics.crl_age.remove(gone)
                self.metrics.crl_next_update.remove(gone)
        for state in states:
            self.metrics.crl_age.labels(state.issuer).set_function(
                functools.partial(_seconds_between, self.now, state.this_update, 1.0)
            )
            if state.next_update is not None:
                self.metrics.crl_next_update.labels(state.issuer).set_function(
                    functools.partial(_seconds_between, self.now, state.next_update, -1.0)
                )
        self._published = current


def _seconds_between(now: Now, instant: datetime, sign: float) -> float:
    """``sign * (now - instant)`` in seconds: a gauge's value at scrape time."""
    return sign * (now() - instant).total_seconds()


@contextlib.asynccontextmanager
async def open_crl_refresher(
    config: AxisConfig, trust: TrustStore, metrics: Metrics | None, now: Now
) -> AsyncIterator[CrlRefresher]:
    """The serving process's refresher; with ``revocation_fetch`` it owns ONE HTTP session for
    its downloads, closed on the way out."""
    directory = config.home / HOME_CRL_DIR
    folder = CrlFolder(crl_directories(config))
    if not config.revocation_fetch:
        yield CrlRefresher(trust, directory, folder, fetcher=None, now=now, metrics=metrics)
        return
    async with aiohttp.ClientSession() as session:
        yield CrlRefresher(
            trust,
            directory,
            folder,
            fetcher=HttpRevocationFetcher(session),
            now=now,
            metrics=metrics,
        )
