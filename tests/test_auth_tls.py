"""A real TLS round trip over loopback: a client certificate names its system, Basic still works
on the same server without one, and the certificate pin is what binds (not the CA alone)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from axis.auth import (
    Authenticator,
    authenticate_request,
    certificate_der,
    certificate_sha256,
    generate_secret,
    server_ssl_context,
)
from axis.errors import AuthError
from tests.test_auth import H38, ManualClock, audit_of, basic, record, run, systems_store


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path  # issued by the same CA, bound to no system
    stranger_key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(
    directory: Path,
    stem: str,
    subject: str,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool = False,
    usage: x509.ObjectIdentifier | None = None,
) -> tuple[Path, Path, x509.Name, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    issuer_name, issuer_key = issuer if issuer is not None else (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if usage == ExtendedKeyUsageOID.SERVER_AUTH:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    cert = builder.sign(issuer_key, hashes.SHA256())
    cert_path, key_path = directory / f"{stem}.pem", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path, _name(subject), key


def make_pki(directory: Path) -> Pki:
    """A throw-away CA with a server certificate for 127.0.0.1 and two client certificates."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_cert, _ca_key_path, ca_name, ca_key = _issue(
        directory, "ca", "Test client CA", None, ca=True
    )
    issuer = (ca_name, ca_key)
    server = _issue(directory, "server", "127.0.0.1", issuer, usage=ExtendedKeyUsageOID.SERVER_AUTH)
    client = _issue(directory, "client", "sys-cert", issuer, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    other = _issue(directory, "stranger", "stranger", issuer, usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    return Pki(ca_cert, server[0], server[1], client[0], client[1], other[0], other[1])


AUTH_KEY = web.AppKey("auth", Authenticator)


async def _whoami(request: web.Request) -> web.Response:
    auth = request.app[AUTH_KEY]
    try:
        principal = await authenticate_request(auth, request)
    except AuthError as exc:
        return web.json_response(exc.to_dict(), status=exc.status)
    return web.json_response({"system_id": principal.system_id, "codes": list(principal.codes)})


async def _serve(pki: Pki, body: Callable[[str], Awaitable[None]], auth: Authenticator) -> None:
    app = web.Application()
    app[AUTH_KEY] = auth
    app.router.add_get("/whoami", _whoami)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    context = server_ssl_context(pki.server_cert, pki.server_key, client_ca=pki.ca)
    site = web.SockSite(runner, sock, ssl_context=context)
    await site.start()
    try:
        await body(f"https://127.0.0.1:{port}/whoami")
    finally:
        await runner.cleanup()


def _client_context(pki: Pki, cert: Path | None, key: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca))
    if cert is not None and key is not None:
        context.load_cert_chain(str(cert), str(key))
    return context


async def _get(url: str, context: ssl.SSLContext, headers: dict[str, str]) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, ssl=context, headers=headers) as response,
    ):
        return response.status, await response.json()


def test_client_certificate_and_basic_over_real_tls(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    fingerprint = certificate_sha256(certificate_der(pki.client_cert.read_bytes()))
    secret = generate_secret()
    cert_system = record("sys-cert", cert_sha256=fingerprint, codes=("000.00.01.H38",))
    basic_system = record("sys-basic", secret=secret)

    async def main() -> None:
        async with systems_store(tmp_path) as store:
            for system in (cert_system, basic_system):
                await store.put_system(system, audit_of(system))
            auth = Authenticator(store, ManualClock(), failures_per_minute=20)

            async def calls(url: str) -> None:
                with_cert = _client_context(pki, pki.client_cert, pki.client_key)
                # The certificate decides, even with a Basic header beside it.
                status, body = await _get(url, with_cert, {"Authorization": basic("x", "y")})
                assert (status, body["system_id"]) == (200, "sys-cert")
                assert body["codes"] == ["000.00.01.H38"]

                plain = _client_context(pki, None, None)
                status, body = await _get(url, plain, {"Authorization": basic("sys-basic", secret)})
                assert (status, body["system_id"]) == (200, "sys-basic")
                assert body["codes"] == [H38]

                status, body = await _get(url, plain, {})
                assert (status, body["code"]) == (401, "auth.missing")

                stranger = _client_context(pki, pki.stranger_cert, pki.stranger_key)
                status, body = await _get(url, stranger, {})
                assert (status, body["code"]) == (401, "auth.bad_credentials")

            await _serve(pki, calls, auth)

    run(main())


def test_server_context_is_tls12_plus_and_asks_for_an_optional_certificate(
    tmp_path: Path,
) -> None:
    pki = make_pki(tmp_path / "pki")
    with_ca = server_ssl_context(pki.server_cert, pki.server_key, client_ca=pki.ca)
    assert with_ca.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert with_ca.verify_mode == ssl.CERT_OPTIONAL
    without = server_ssl_context(pki.server_cert, pki.server_key)
    assert without.verify_mode == ssl.CERT_NONE


def test_certificate_files_pem_and_der_give_one_pin(tmp_path: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    pem = pki.client_cert.read_bytes()
    der = certificate_der(pem)
    assert certificate_der(der) == der
    assert certificate_sha256(der) == certificate_sha256(certificate_der(pem))
    assert len(certificate_sha256(der)) == 64
