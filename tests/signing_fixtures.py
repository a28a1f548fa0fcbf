"""Session fixtures for everything that needs certificates: one test PKI and its responder.

The PKI is built ONCE per test process (about 3 s) into a pytest temporary directory, with its
CDP/AIA URLs pointing at a :class:`~signing.pki.RevocationServer` that was started first on a free
loopback port -- the server serves the directory lazily, so it can start before the PKI exists.

Re-export from ``tests/conftest.py`` with::

    from tests.signing_fixtures import revocation_server, test_pki  # noqa: F401

Test modules may also import the fixtures directly; a process-wide singleton makes sure every
import site shares the same PKI and server (pytest would otherwise build one per module).
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

import aiohttp
import pytest

from signing.pki import RevocationServer, TestPki, build_test_pki
from signing.revocation import HttpRevocationFetcher

_lock = threading.Lock()
_server: RevocationServer | None = None


def _shared_server(factory: pytest.TempPathFactory) -> RevocationServer:
    global _server
    with _lock:
        if _server is None:
            directory = factory.mktemp("test-pki")
            server = RevocationServer(directory).start()
            try:
                build_test_pki(directory, base_url=server.base_url)
            except Exception:
                server.stop()
                raise
            atexit.register(server.stop)
            _server = server
        return _server


@pytest.fixture(scope="session")
def revocation_server(tmp_path_factory: pytest.TempPathFactory) -> RevocationServer:
    """The running loopback CRL/OCSP responder of :func:`test_pki` (``base_url``, ``requests``).

    Stopped at interpreter exit, not at session end, because several import sites share it.
    """
    return _shared_server(tmp_path_factory)


@pytest.fixture(scope="session")
def test_pki(revocation_server: RevocationServer) -> TestPki:
    """The session's test PKI (see :class:`signing.pki.TestPki` for what each certificate is)."""
    return revocation_server.pki


class SessionPerCallFetcher:
    """TEST-ONLY revocation fetcher: an ``aiohttp.ClientSession`` per fetch around the real one.

    Synchronous tests drive the path validator with ``asyncio.run`` per call, i.e. a new event
    loop each time, and an aiohttp session belongs to the loop it was opened on. The library's
    :class:`~signing.revocation.HttpRevocationFetcher` always takes its owner's session; this
    wrapper is only how tests give it one in every loop.
    """

    def __init__(self, **options: Any) -> None:
        self.options = options

    async def fetch_crl(self, url: str) -> bytes:
        async with aiohttp.ClientSession() as session:
            return await HttpRevocationFetcher(session, **self.options).fetch_crl(url)

    async def fetch_ocsp(self, url: str, request_der: bytes) -> bytes:
        async with aiohttp.ClientSession() as session:
            fetcher = HttpRevocationFetcher(session, **self.options)
            return await fetcher.fetch_ocsp(url, request_der)
