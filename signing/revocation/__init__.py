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

The package is split along those ideas: :mod:`signing.revocation.fetch` (the fetcher protocol and
its HTTP implementation), :mod:`signing.revocation.data` (parsed CRLs / OCSP responses and the URLs
certificates name) and :mod:`signing.revocation.cache` (reuse windows, negative caching, prefetch).
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

__all__ = [
    "CacheStats",
    "CachedCrl",
    "CachedOcsp",
    "Clock",
    "HttpRevocationFetcher",
    "RevocationCache",
    "RevocationFetchError",
    "RevocationFetcher",
    "crl_urls",
    "ocsp_cache_key",
    "ocsp_request_der",
    "ocsp_urls",
    "parse_ocsp",
    "utc_now",
]
