"""Revocation data: the HTTP fetcher against the loopback responder, and the cache's lifetimes."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp

from signing.pki import RevocationServer, TestPki, make_crl
from signing.revocation import (
    HttpRevocationFetcher,
    RevocationCache,
    RevocationFetcher,
    RevocationFetchError,
    crl_urls,
    ocsp_request_der,
    ocsp_urls,
)
from tests.signing_fixtures import SessionPerCallFetcher, revocation_server, test_pki

__all__ = ["revocation_server", "test_pki"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CountingFetcher:
    """A real HTTP fetcher that counts calls, to see what the cache saves."""

    def __init__(self) -> None:
        self.inner: RevocationFetcher = SessionPerCallFetcher()
        self.crl_calls = 0
        self.ocsp_calls = 0

    async def fetch_crl(self, url: str) -> bytes:
        self.crl_calls += 1
        return await self.inner.fetch_crl(url)

    async def fetch_ocsp(self, url: str, request_der: bytes) -> bytes:
        self.ocsp_calls += 1
        return await self.inner.fetch_ocsp(url, request_der)


def test_fetchers_are_revocation_fetchers() -> None:
    assert isinstance(CountingFetcher(), RevocationFetcher)
    assert isinstance(SessionPerCallFetcher(), RevocationFetcher)


def test_http_fetcher_uses_its_owners_session_and_leaves_it_open(test_pki: TestPki) -> None:
    leaf, sub = test_pki.revoked.cert, test_pki.sub_ca.cert
    (crl_url,) = crl_urls(leaf)
    (ocsp_url,) = ocsp_urls(leaf)
    assert crl_url == f"{test_pki.base_url}/crl/sub_ca.crl"

    async def fetch_both() -> tuple[bytes, bytes]:
        async with aiohttp.ClientSession() as session:  # the application's one session
            fetcher = HttpRevocationFetcher(session)
            assert isinstance(fetcher, RevocationFetcher)
            assert fetcher.session is session
            crl_der = await fetcher.fetch_crl(crl_url)
            ocsp_der = await fetcher.fetch_ocsp(ocsp_url, ocsp_request_der(leaf, sub))
            assert not session.closed  # whoever opened the session closes it
            return crl_der, ocsp_der

    crl_der, der = asyncio.run(fetch_both())
    crl = x509.load_der_x509_crl(crl_der)
    assert crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None
    assert crl.is_signature_valid(test_pki.sub_ca.key.public_key())
    resp = ocsp.load_der_ocsp_response(der)
    assert resp.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert resp.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert resp.revocation_reason == x509.ReasonFlags.key_compromise


def test_ocsp_good_and_unknown(test_pki: TestPki) -> None:
    fetcher = SessionPerCallFetcher()
    url = f"{test_pki.base_url}/ocsp"
    good = asyncio.run(
        fetcher.fetch_ocsp(
            url, ocsp_request_der(test_pki.agency_rsa2048.cert, test_pki.sub_ca.cert)
        )
    )
    assert ocsp.load_der_ocsp_response(good).certificate_status == ocsp.OCSPCertStatus.GOOD
    # a certificate the CA never issued (same issuer name and key, foreign serial)
    foreign = asyncio.run(
        fetcher.fetch_ocsp(url, ocsp_request_der(test_pki.other_leaf.cert, test_pki.sub_ca.cert))
    )
    assert ocsp.load_der_ocsp_response(foreign).certificate_status == ocsp.OCSPCertStatus.UNKNOWN


def test_fetch_errors_have_codes(test_pki: TestPki) -> None:
    fetcher = SessionPerCallFetcher(timeout=2)
    cases = {
        f"{test_pki.base_url}/crl/nope.crl": "revocation.http_status",
        f"http://127.0.0.1:{_closed_port()}/crl/x.crl": "revocation.unreachable",
        "file:///etc/passwd": "revocation.bad_url",
        "ldap://ca.gov.vn/crl": "revocation.bad_url",
    }
    for url, code in cases.items():
        with pytest.raises(RevocationFetchError) as err:
            asyncio.run(fetcher.fetch_crl(url))
        assert (err.value.code, err.value.location) == (code, url)


def test_size_limit(test_pki: TestPki) -> None:
    fetcher = SessionPerCallFetcher(max_bytes=100)
    with pytest.raises(RevocationFetchError) as err:
        asyncio.run(fetcher.fetch_crl(f"{test_pki.base_url}/crl/sub_ca.crl"))
    assert err.value.code == "revocation.too_large"


def test_rewrite_sends_old_urls_to_a_mirror(test_pki: TestPki) -> None:
    rewrite = {"http://ca.btc/pki": f"{test_pki.base_url}"}

    async def fetch() -> bytes:
        async with aiohttp.ClientSession() as session:
            fetcher = HttpRevocationFetcher(session, rewrite=rewrite)
            resolved = fetcher.resolve("http://ca.btc/pki/crl/sub_ca.crl")
            assert resolved == f"{test_pki.base_url}/crl/sub_ca.crl"
            return await fetcher.fetch_crl("http://ca.btc/pki/crl/sub_ca.crl")

    der = asyncio.run(fetch())
    assert x509.load_der_x509_crl(der).issuer == test_pki.sub_ca.cert.subject


def test_cache_keeps_data_until_next_update(test_pki: TestPki) -> None:
    now = [datetime.now(UTC)]
    fetcher = CountingFetcher()
    cache = RevocationCache(fetcher, clock=lambda: now[0])
    leaf, sub = test_pki.agency_rsa2048.cert, test_pki.sub_ca.cert

    async def both() -> None:
        crl = await cache.crl_for(leaf)
        status = await cache.ocsp_for(leaf, sub)
        assert crl is not None
        assert crl.next_update is not None
        assert status is not None
        assert status.status == "good"

    asyncio.run(both())
    asyncio.run(both())
    assert (fetcher.crl_calls, fetcher.ocsp_calls) == (1, 1)
    now[0] += timedelta(minutes=59)  # responder's nextUpdate is 1 h
    asyncio.run(both())
    assert (fetcher.crl_calls, fetcher.ocsp_calls) == (1, 1)
    now[0] += timedelta(minutes=2)
    asyncio.run(both())
    assert (fetcher.crl_calls, fetcher.ocsp_calls) == (2, 2)
    assert cache.stats().crl_fetches == 2


def test_failures_are_remembered_briefly(test_pki: TestPki) -> None:
    now = [datetime.now(UTC)]
    dead = SessionPerCallFetcher(rewrite={test_pki.base_url: f"http://127.0.0.1:{_closed_port()}"})
    counting = CountingFetcher()
    counting.inner = dead
    cache = RevocationCache(counting, clock=lambda: now[0], negative_ttl=timedelta(seconds=30))
    leaf = test_pki.agency_rsa2048.cert
    assert asyncio.run(cache.crl_for(leaf)) is None
    assert asyncio.run(cache.crl_for(leaf)) is None
    assert counting.crl_calls == 1  # the dead responder is not hammered
    now[0] += timedelta(seconds=31)
    assert asyncio.run(cache.crl_for(leaf)) is None
    assert counting.crl_calls == 2
    assert cache.stats().failures == 2


def test_max_ttl_caps_a_far_future_next_update(test_pki: TestPki) -> None:
    now = datetime.now(UTC)
    cache = RevocationCache(clock=lambda: now, max_ttl=timedelta(hours=1))
    der = make_crl(test_pki.sub_ca, test_pki.revocations, now, now + timedelta(days=3650))
    entry = cache.add_crl(der)
    assert entry.expires_at == now + timedelta(hours=1)


def test_offline_feeding_pem_and_der(test_pki: TestPki) -> None:
    cache = RevocationCache()  # no fetcher at all
    der = test_pki.crl_path.read_bytes()
    pem = x509.load_der_x509_crl(der).public_bytes(serialization.Encoding.PEM)
    entry = cache.add_crl(pem)
    assert entry.der == der
    assert test_pki.revoked.cert.serial_number in entry.revoked
    _revoked_at, reason = entry.revoked[test_pki.revoked.cert.serial_number]
    assert reason == "key_compromise"
    assert asyncio.run(cache.crl_for(test_pki.revoked.cert)) == entry
    assert asyncio.run(cache.ocsp_for(test_pki.revoked.cert, test_pki.sub_ca.cert)) is None


def test_bad_crl_is_refused() -> None:
    with pytest.raises(RevocationFetchError) as err:
        RevocationCache().add_crl(b"not a crl")
    assert err.value.code == "revocation.bad_crl"


def test_offline_ocsp_response(test_pki: TestPki) -> None:
    leaf, sub = test_pki.agency_rsa3072.cert, test_pki.sub_ca.cert
    der = asyncio.run(
        SessionPerCallFetcher().fetch_ocsp(f"{test_pki.base_url}/ocsp", ocsp_request_der(leaf, sub))
    )
    cache = RevocationCache()
    entry = cache.add_ocsp(der, leaf, sub)
    assert entry.status == "good"
    assert asyncio.run(cache.ocsp_for(leaf, sub)) is entry
    with pytest.raises(RevocationFetchError) as err:
        cache.add_ocsp(der, test_pki.agency_rsa2048.cert, sub)
    assert err.value.code == "revocation.ocsp_mismatch"


def test_prefetch_refreshes_what_is_about_to_expire(test_pki: TestPki) -> None:
    now = [datetime.now(UTC)]
    fetcher = CountingFetcher()
    cache = RevocationCache(fetcher, clock=lambda: now[0])
    sub = test_pki.sub_ca.cert
    pairs = [(test_pki.agency_rsa2048.cert, sub), (test_pki.revoked_crl_only.cert, sub)]
    assert asyncio.run(cache.prefetch(pairs)) == 2  # OCSP for the first, the CRL for the second
    assert asyncio.run(cache.prefetch(pairs)) == 0  # all fresh for the next hour
    now[0] += timedelta(minutes=56)
    assert asyncio.run(cache.prefetch(pairs, margin=timedelta(minutes=5))) == 2
    assert (fetcher.crl_calls, fetcher.ocsp_calls) == (2, 2)


def test_runtime_revocation_seen_after_cache_expiry(
    test_pki: TestPki, revocation_server: RevocationServer
) -> None:
    # a second responder over the same PKI, reached through a mirror rewrite, so revoking here
    # does not disturb the shared one
    with RevocationServer(test_pki) as mirror:
        fetcher = SessionPerCallFetcher(rewrite={test_pki.base_url: mirror.base_url})
        now = [datetime.now(UTC)]
        cache = RevocationCache(fetcher, clock=lambda: now[0])
        leaf, sub = test_pki.agency_after_2025.cert, test_pki.sub_ca.cert
        first = asyncio.run(cache.ocsp_for(leaf, sub))
        assert first is not None
        assert first.status == "good"
        mirror.revoke(test_pki.agency_after_2025, reason=x509.ReasonFlags.superseded)
        cached = asyncio.run(cache.ocsp_for(leaf, sub))
        assert cached is first
        now[0] += timedelta(hours=1, minutes=1)
        fresh = asyncio.run(cache.ocsp_for(leaf, sub))
        assert fresh is not None
        assert (fresh.status, fresh.reason) == ("revoked", "superseded")
        assert mirror.requests["ocsp"] == 2
    assert revocation_server.revocations() == test_pki.revocations
