"""Revocation data (CRL and OCSP): where it comes from and how long it may be reused.

Three separate ideas, because a closed government network rarely reaches ``ca.gov.vn``:

* :class:`RevocationFetcher` -- the ONLY door to the network, passed in by the caller. The library
  never fetches on its own; without a fetcher, revocation data comes only from what an operator fed
  into the cache (:meth:`RevocationCache.add_crl` / :meth:`RevocationCache.add_ocsp`).
* :class:`HttpRevocationFetcher` -- the aiohttp implementation (its name says it does network I/O)
  on its owner's ``aiohttp.ClientSession`` (one per application; it never opens or closes one),
  with size/time limits, and URL prefix rewriting for mirrors (old certificates carry internal
  hosts such as ``http://ca.btc/`` that only a mirror can answer).
* :class:`RevocationCache` -- keeps each CRL / OCSP response until its ``nextUpdate`` (capped by
  ``max_ttl`` so a forged far-future nextUpdate cannot pin data forever), remembers failed fetches
  for a short ``negative_ttl`` (soft-fail must not hammer a dead responder on every document), and
  can prefetch data that is about to expire so the hot path never waits on the network.

The cache does not judge signatures: pyhanko-certvalidator verifies every CRL / OCSP response when
it is used, and :class:`signing.certpath.PathValidator` evicts data that failed there.

A fourth idea serves every process of a deployment at once: :class:`CrlFolder`, the CRLs held on
disk (``$AXIS_HOME/crl``) that each worker re-reads when a file changes, filled only through
:func:`install_crl`, which refuses a CRL that no trusted CA signed or that is older than the one
held (``axis pki crl import``, and the serving process's refresh task in :mod:`axis.crl_refresh`).

The package is split along those ideas: :mod:`signing.revocation.fetch` (the fetcher protocol and
its HTTP implementation), :mod:`signing.revocation.data` (parsed CRLs / OCSP responses and the URLs
certificates name), :mod:`signing.revocation.cache` (reuse windows, negative caching, prefetch),
:mod:`signing.revocation.held` (the CRL folder) and :mod:`signing.revocation.install` (checking
and installing a CRL into it).
"""

from __future__ import annotations

from signing.errors import RevocationFetchError
from signing.revocation.cache import CacheStats, Clock, RevocationCache, utc_now
from signing.revocation.data import (
    CachedCrl,
    CachedOcsp,
    crl_urls,
    ocsp_cache_key,
    ocsp_request_der,
    ocsp_urls,
    parse_ocsp,
)
from signing.revocation.fetch import HttpRevocationFetcher, RevocationFetcher
from signing.revocation.held import CrlFolder, HeldCrl, HeldCrls, read_held
from signing.revocation.install import CrlError, InstalledCrl, check_crl, install_crl

__all__ = [
    "CacheStats",
    "CachedCrl",
    "CachedOcsp",
    "Clock",
    "CrlError",
    "CrlFolder",
    "HeldCrl",
    "HeldCrls",
    "HttpRevocationFetcher",
    "InstalledCrl",
    "RevocationCache",
    "RevocationFetchError",
    "RevocationFetcher",
    "check_crl",
    "crl_urls",
    "install_crl",
    "ocsp_cache_key",
    "ocsp_request_der",
    "ocsp_urls",
    "parse_ocsp",
    "read_held",
    "utc_now",
]
