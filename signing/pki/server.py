"""A loopback HTTP responder serving the test PKI's CRLs, CA certificates and OCSP answers."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path
from types import TracebackType
from typing import Any

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from signing.errors import PkiError
from signing.pki.model import Issued, Revocation, TestPki, load_test_pki
from signing.pki.responses import make_crl, make_ocsp_response

_log = structlog.get_logger()


class RevocationServer:
    """Loopback HTTP responder: ``GET /crl/<ca>.crl``, ``GET /crt/<ca>.crt``, ``POST /ocsp``.

    CRLs and OCSP responses are signed fresh on every request (thisUpdate = now, nextUpdate = now +
    ``validity``), so a PKI built days ago still serves current revocation data. ``pki`` may be a
    directory that is filled AFTER the server started: that is how a test session starts the
    server on a free port first and then builds the PKI with the server's ``base_url``.
    ``requests`` counts what was asked (``crl:sub_ca``, ``ocsp``...) so tests can see cache hits.
    """

    def __init__(
        self,
        pki: TestPki | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        validity: timedelta = timedelta(hours=1),
    ) -> None:
        if not ip_address(host).is_loopback:
            raise PkiError("pki.not_loopback", "the test responder binds loopback only", host)
        self._pki = pki if isinstance(pki, TestPki) else None
        self._directory = pki.directory if isinstance(pki, TestPki) else Path(pki)
        self._extra_revocations: list[Revocation] = []
        self._lock = threading.Lock()
        self.validity = validity
        self.requests: Counter[str] = Counter()
        server = ThreadingHTTPServer((host, port), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread: threading.Thread | None = None
        bound_port = server.server_address[1]
        self.base_url = f"http://{host}:{bound_port}"

    @property
    def pki(self) -> TestPki:
        """The PKI served; loaded from the directory on first use when given as a path."""
        with self._lock:
            if self._pki is None:
                self._pki = load_test_pki(self._directory)
            return self._pki

    def revocations(self) -> tuple[Revocation, ...]:
        with self._lock:
            extra = tuple(self._extra_revocations)
        return self.pki.revocations + extra

    def revoke(
        self,
        issued: Issued,
        at: datetime | None = None,
        reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise,
    ) -> None:
        """Revoke a certificate while serving (not persisted to the PKI directory)."""
        issuer = next(
            n
            for n in self.pki.ca_names
            if self.pki.all_issued()[n].cert.subject == issued.cert.issuer
        )
        with self._lock:
            self._extra_revocations.append(
                Revocation(issuer, issued.cert.serial_number, at or datetime.now(UTC), reason)
            )

    def count(self, key: str) -> None:
        with self._lock:
            self.requests[key] += 1

    def start(self) -> RevocationServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="revocation-server", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> RevocationServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _make_handler(owner: RevocationServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "axis-test-pki/1"

        def log_message(self, format: str, *args: Any) -> None:
            _log.debug("pki.http", line=format % args)

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = self.path.strip("/").split("/")
            if len(parts) == 2 and parts[0] in {"crl", "crt"}:
                name, _, ext = parts[1].rpartition(".")
                pki = owner.pki
                if name in pki.ca_names and ext == parts[0]:
                    ca = pki.all_issued()[name]
                    owner.count(f"{parts[0]}:{name}")
                    if ext == "crt":
                        body = ca.cert.public_bytes(serialization.Encoding.DER)
                        return self._send(200, body, "application/pkix-cert")
                    now = datetime.now(UTC).replace(microsecond=0)
                    crl = make_crl(
                        ca,
                        owner.revocations(),
                        now,
                        now + owner.validity,
                        distribution_point=f"{pki.base_url}/crl/{name}.crl",
                    )
                    return self._send(200, crl, "application/pkix-crl")
            return self._send(404, b"not found\n", "text/plain")

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/ocsp":
                return self._send(404, b"not found\n", "text/plain")
            length = int(self.headers.get("Content-Length", "0"))
            if length <= 0 or length > 64 * 1024:
                return self._send(400, b"bad request\n", "text/plain")
            body = self.rfile.read(length)
            owner.count("ocsp")
            now = datetime.now(UTC).replace(microsecond=0)
            resp = make_ocsp_response(owner.pki, owner.revocations(), body, now, owner.validity)
            return self._send(200, resp, "application/ocsp-response")

    return Handler
