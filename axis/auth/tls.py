"""TLS for the API: the server's context and how a client certificate is named.

A system may prove itself with a client certificate instead of a secret. The server asks for
one (``CERT_OPTIONAL``, so systems using HTTP Basic still connect without one), the TLS layer
checks its chain against ``client_ca``, and the broker binds it to a system by the SHA-256 of
its DER (``SystemRecord.cert_sha256``): a pin, so a second certificate from the same CA for the
same name does not inherit the first one's grant.
"""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding


def server_ssl_context(cert: Path, key: Path, client_ca: Path | None = None) -> ssl.SSLContext:
    """A TLS 1.2+ server context; with ``client_ca`` (a PEM file or a directory of hashed
    certificates) clients may present a certificate issued under it."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    if client_ca is not None:
        if client_ca.is_dir():
            context.load_verify_locations(capath=str(client_ca))
        else:
            context.load_verify_locations(cafile=str(client_ca))
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def certificate_der(data: bytes) -> bytes:
    """A certificate file's bytes (PEM or DER) as DER; ``ValueError`` when it is neither."""
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
    return x509.load_der_x509_certificate(data).public_bytes(Encoding.DER)


def certificate_sha256(der: bytes) -> str:
    """The pin a system is bound by: lower-case hex SHA-256 of the certificate's DER."""
    return hashlib.sha256(der).hexdigest()
