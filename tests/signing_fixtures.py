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

import pytest

from signing.pki import RevocationServer, TestPki, build_test_pki

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
