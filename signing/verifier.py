"""The :class:`Verifier`: signature verification state owned by the application, not the module.

A verifier is built once per (trust, policy, fetcher) and kept for the life of the process: it
owns its :class:`~signing.certpath.PathValidator` (whose per-signer results make the second
document of a signer cost a dictionary lookup), its table of certificate facts, and -- for
synchronous callers only -- one private event loop on which certificate paths are validated when
the cache misses. Nothing lives at module level, so two verifiers (two policies, two trust
stores, a test and the application) never share or leak state, and ``close()`` releases it all.

Two entry points, one per world:

* :meth:`Verifier.verify` -- synchronous, for a process with no running event loop (the CLI,
  the broker's worker processes). A cache miss runs the async path on the verifier's own loop
  (created on first need, closed by :meth:`Verifier.close`): never a thread or a fresh loop per
  miss, so a fetcher's HTTP session stays on the one loop it belongs to.
* :meth:`Verifier.verify_async` -- on the caller's loop (the broker's event loop, with the
  application's ``aiohttp.ClientSession`` behind an :class:`HttpRevocationFetcher`).

:func:`verify` is the one-shot convenience for the CLI and tests: build a verifier, verify once,
close it. A caller that verifies more than one document keeps a :class:`Verifier`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from datetime import datetime
from types import TracebackType
from typing import Any, TypeAlias, TypeVar

import aiohttp
from cryptography import x509
from lxml import etree

from edxml.xmlsafe import DEFAULT_LIMITS, XmlLimits
from signing.certfacts import CertFactsCache
from signing.certpath import PathPolicy, PathResult, PathValidator
from signing.keyinfo import read_key_info
from signing.locate import EDXML, PROFILES, element_path, locate
from signing.pinned import PinnedKeys
from signing.policy import SignaturePolicy
from signing.prepare import Prepared
from signing.report import ReasonCode, SignatureReport
from signing.revocation import CrlFolder, HttpRevocationFetcher, RevocationFetcher
from signing.run import Document, Run, start
from signing.truststore import TrustStore
from signing.verdicts import logged, name_signer, refused

Trust: TypeAlias = TrustStore | PathValidator | PinnedKeys
T = TypeVar("T")


def path_policy_for(policy: SignaturePolicy) -> PathPolicy:
    """The certificate-path policy implied by a signature policy."""
    return PathPolicy(
        revocation=policy.revocation,
        allow_sha1_chain=policy.allow_sha1,
        min_rsa_bits=policy.min_rsa_bits,
    )


def _no_running_loop(what: str) -> None:
    """Refuse a blocking call from inside an event loop: it would stall every other task."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"Verifier.{what}() called while an event loop is running in this thread; "
        f"use 'await Verifier.verify_async(...)' / 'await Verifier.aclose()' there instead"
    )


def _missing_certificate(
    run: Run, state: list[Prepared], pinned: PinnedKeys | None
) -> SignatureReport | None:
    """A refusal when a path must be validated but a signature carries no certificate."""
    if pinned is not None or all(item.keys.leaf is not None for item in state):
        return None
    return refused(
        run.policy,
        ReasonCode.KEY_INFO,
        "the signature carries no X509 certificate",
        state[0].where,
        run.at,
    )


def _unreadable_certificate(run: Run, where: str, exc: Exception) -> SignatureReport:
    """The refusal when the path builder chokes on an attacker-supplied certificate."""
    return refused(
        run.policy,
        ReasonCode.CERT_INVALID,
        f"unreadable certificate: {type(exc).__name__}: {exc}",
        where,
        run.at,
    )


def _leaf_at(
    root: etree._Element, location: str, policy: SignaturePolicy
) -> x509.Certificate | None:
    """The certificate in the KeyInfo of the signature a refusal points into, if it has one."""
    found = locate(root, policy.profile)
    for element in (*found.signatures, *found.misplaced):
        where = element_path(element)
        if location == where or location.startswith(where + "/"):
            try:
                return read_key_info(element, where).leaf
            except Exception:  # an unreadable KeyInfo: the refusal says so on its own
                return None
    return None


def _done(report: SignatureReport, root: etree._Element | None) -> SignatureReport:
    """The report as returned: a refusal names its certificate (:func:`name_signer`), then it
    is logged. A refusal before the details were built looks the certificate up in KeyInfo."""
    if report.status != "invalid":
        return logged(report)
    leaf = None
    if not report.signatures and root is not None:
        policy = SignaturePolicy(profile=PROFILES.get(report.profile, EDXML))
        leaf = _leaf_at(root, report.location, policy)
    try:
        return logged(name_signer(report, leaf))
    except ValueError:  # a certificate whose name cannot be rendered: refuse without naming
        return logged(report)


class Verifier:
    """Verifies documents under one trust and one policy, reusing everything between documents.

    ``trust`` is a :class:`TrustStore` (the verifier builds and owns a :class:`PathValidator`
    for it under :func:`path_policy_for`), a ready :class:`PathValidator` (its own path policy and
    fetcher apply; the caller owns it), or :class:`PinnedKeys` (no path validation).
    ``fetcher`` fetches CRL/OCSP for the verifier's own validator (``None``: no network, offline
    data only); it is the caller's, and is not closed here. ``crls`` is the folder of held CRLs
    its validator reads (re-read when a file changes: how a worker sees a new CRL without a
    restart).

    Synchronous use is for one thread at a time per verifier (cache misses are serialised on the
    private loop); the broker gives each worker process its own verifier.
    """

    def __init__(
        self,
        trust: Trust,
        policy: SignaturePolicy | None = None,
        fetcher: RevocationFetcher | None = None,
        *,
        crls: CrlFolder | None = None,
        max_certificates: int = 4096,
    ) -> None:
        self.trust = trust
        self.policy = policy or SignaturePolicy()
        self.fetcher = fetcher
        self.pinned = trust if isinstance(trust, PinnedKeys) else None
        self._owns_validator = isinstance(trust, TrustStore)
        self.validator: PathValidator | None
        if isinstance(trust, PathValidator):
            if fetcher is not None or crls is not None:
                raise ValueError(
                    "a PathValidator brings its own fetcher and CRL folder; pass one or the other"
                )
            self.validator = trust
        elif isinstance(trust, TrustStore):
            self.validator = PathValidator(
                trust, policy=path_policy_for(self.policy), fetcher=fetcher, crls=crls
            )
        else:
            self.validator = None
        self.certs = CertFactsCache(max_certificates)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_lock = threading.Lock()
        self._session: aiohttp.ClientSession | None = None
        self.closed = False

    @classmethod
    def with_http_fetcher(
        cls,
        trust: TrustStore,
        policy: SignaturePolicy | None = None,
        *,
        crls: CrlFolder | None = None,
        **fetcher_options: Any,
    ) -> Verifier:
        """A synchronous verifier that fetches CRL/OCSP over HTTP (network I/O).

        The verifier opens its private loop now and one ``aiohttp.ClientSession`` on it, hands
        the session to an :class:`HttpRevocationFetcher` (``fetcher_options``: ``timeout``,
        ``max_bytes``, ``rewrite``, ``user_agent``), and closes both in :meth:`close`. An
        asynchronous application opens its own session and passes
        ``HttpRevocationFetcher(session)`` as ``fetcher`` instead.
        """
        _no_running_loop("with_http_fetcher")
        loop = asyncio.new_event_loop()
        try:
            session = loop.run_until_complete(_open_session())
            try:
                fetcher = HttpRevocationFetcher(session, **fetcher_options)
                verifier = cls(trust, policy, fetcher, crls=crls)
            except BaseException:  # bad options: nothing may leak
                loop.run_until_complete(session.close())
                raise
        except BaseException:
            loop.close()
            raise
        verifier._loop = loop
        verifier._session = session
        return verifier

    # -- verification ------------------------------------------------------------------------

    def verify(
        self,
        data_or_tree: Document,
        *,
        at: datetime | None = None,
        limits: XmlLimits = DEFAULT_LIMITS,
    ) -> SignatureReport:
        """Verify one document; never raises for bad input, returns a report.

        ``at`` is the trusted validation time (default: now), never the claimed SigningTime.
        Raises ``RuntimeError`` when called inside a running event loop (use
        :meth:`verify_async`) or after :meth:`close`.
        """
        _no_running_loop("verify")
        self._check_open()
        run, root, state = start(data_or_tree, self.policy, at, limits, self.certs)
        if isinstance(state, SignatureReport) or root is None:
            return _done(state, root)  # type: ignore[arg-type]
        missing = _missing_certificate(run, state, self.pinned)
        if missing is not None:
            return _done(missing, root)
        paths: list[PathResult | None] = []
        for item in state:
            try:
                paths.append(self._path_sync(run, item))
            except Exception as exc:  # the path builder choked on an attacker's certificate
                return _done(_unreadable_certificate(run, item.where, exc), root)
        return _done(run.finish(root, state, paths, self.pinned), root)

    async def verify_async(
        self,
        data_or_tree: Document,
        *,
        at: datetime | None = None,
        limits: XmlLimits = DEFAULT_LIMITS,
    ) -> SignatureReport:
        """:meth:`verify` on the caller's event loop: certificate paths (fetches) are awaited."""
        self._check_open()
        run, root, state = start(data_or_tree, self.policy, at, limits, self.certs)
        if isinstance(state, SignatureReport) or root is None:
            return _done(state, root)  # type: ignore[arg-type]
        missing = _missing_certificate(run, state, self.pinned)
        if missing is not None:
            return _done(missing, root)
        paths: list[PathResult | None] = []
        for item in state:
            leaf = item.keys.leaf
            if self.validator is None or leaf is None:
                paths.append(None)
                continue
            try:
                paths.append(await self.validator.validate(leaf, item.keys.others, at=run.at))
            except Exception as exc:  # as in verify(): never raise on hostile input
                return _done(_unreadable_certificate(run, item.where, exc), root)
        return _done(run.finish(root, state, paths, self.pinned), root)

    def _path_sync(self, run: Run, item: Prepared) -> PathResult | None:
        """The path of one signer: from the cache, else validated on the private loop."""
        leaf = item.keys.leaf
        if self.validator is None or leaf is None:
            return None
        hit = self.validator.cached(leaf, run.at)
        if hit is not None:
            return hit
        return self._run_private(self.validator.validate(leaf, item.keys.others, at=run.at))

    def _run_private(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` to completion on the verifier's own loop, created on first need."""
        with self._loop_lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            return self._loop.run_until_complete(work)

    # -- life cycle --------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed:
            raise RuntimeError("this Verifier is closed")

    def close(self) -> None:
        """Release what the verifier owns: its HTTP session, its loop, its caches. Idempotent.

        Inside a running event loop, a verifier that has a private loop must be closed with
        :meth:`aclose` (its session can only be closed on its own loop).
        """
        if self.closed:
            return
        if self._loop is not None:
            _no_running_loop("close")
            self._close_private_loop()
        self._release()

    async def aclose(self) -> None:
        """:meth:`close` from async code (a private loop, if any, is closed off this loop)."""
        if self.closed:
            return
        if self._loop is not None:
            await asyncio.to_thread(self._close_private_loop)
        self._release()

    def _close_private_loop(self) -> None:
        with self._loop_lock:
            loop, self._loop = self._loop, None
            if loop is None:
                return
            try:
                if self._session is not None:
                    loop.run_until_complete(self._session.close())
                    self._session = None
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    def _release(self) -> None:
        self.closed = True
        self.certs.clear()
        if self._owns_validator and self.validator is not None:
            self.validator.clear_cache()

    def __enter__(self) -> Verifier:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Verifier:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def _open_session() -> aiohttp.ClientSession:
    """A ClientSession created on the running loop (aiohttp binds a session to its loop)."""
    return aiohttp.ClientSession()


def verify(
    data_or_tree: Document,
    *,
    trust: Trust,
    at: datetime | None = None,
    policy: SignaturePolicy | None = None,
    fetcher: RevocationFetcher | None = None,
    limits: XmlLimits = DEFAULT_LIMITS,
    crls: CrlFolder | None = None,
) -> SignatureReport:
    """Verify one document with a verifier built for this call and closed after it.

    For the CLI and tests. Nothing is cached between calls: a caller with more than one document
    keeps a :class:`Verifier`. A ``fetcher`` bound to an event loop (an
    :class:`HttpRevocationFetcher`) needs :meth:`Verifier.verify_async` on that loop.
    """
    with Verifier(trust, policy, fetcher, crls=crls) as verifier:
        return verifier.verify(data_or_tree, at=at, limits=limits)
