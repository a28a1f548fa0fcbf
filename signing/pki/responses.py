"""The test PKI's revocation answers: CRLs and OCSP responses signed by the issuing CA itself."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from signing.pki.model import Issued, Revocation, TestPki


def make_crl(
    ca: Issued,
    revocations: tuple[Revocation, ...] | list[Revocation],
    this_update: datetime,
    next_update: datetime,
    *,
    number: int | None = None,
    distribution_point: str | None = None,
) -> bytes:
    """A DER CRL of ``ca`` listing the revocations whose issuer is ``ca.name``.

    ``distribution_point``: the URL the CRL is published at, written as its (critical)
    IssuingDistributionPoint -- what the certificates' CDP name, and where the axis's refresh
    task fetches the next CRL of this CA from.
    """
    b = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number or int(this_update.timestamp())), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    if distribution_point is not None:
        idp = x509.IssuingDistributionPoint(
            full_name=[x509.UniformResourceIdentifier(distribution_point)],
            relative_name=None,
            only_contains_user_certs=False,
            only_contains_ca_certs=False,
            only_some_reasons=None,
            indirect_crl=False,
            only_contains_attribute_certs=False,
        )
        b = b.add_extension(idp, critical=True)
    for r in revocations:
        if r.issuer != ca.name:
            continue
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(r.serial)
            .revocation_date(r.revoked_at)
            .add_extension(x509.CRLReason(r.reason), critical=False)
            .build()
        )
        b = b.add_revoked_certificate(entry)
    return b.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _key_hash(cert: x509.Certificate, algorithm: hashes.HashAlgorithm) -> bytes:
    """Hash of the subjectPublicKey BIT STRING content, as OCSP CertID defines issuerKeyHash."""
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    h = hashes.Hash(algorithm)
    h.update(_spki_bit_string(spki))
    return h.finalize()


def _spki_bit_string(spki: bytes) -> bytes:
    """The public key bits inside a DER SubjectPublicKeyInfo (skip the AlgorithmIdentifier)."""

    def read_len(buf: bytes, i: int) -> tuple[int, int]:
        first = buf[i]
        if first < 0x80:
            return first, i + 1
        n = first & 0x7F
        return int.from_bytes(buf[i + 1 : i + 1 + n], "big"), i + 1 + n

    _, i = read_len(spki, 1)  # outer SEQUENCE
    alg_len, j = read_len(spki, i + 1)  # AlgorithmIdentifier SEQUENCE
    k = j + alg_len  # BIT STRING tag
    bits_len, m = read_len(spki, k + 1)
    return spki[m + 1 : m + bits_len]  # skip the "unused bits" octet


def make_ocsp_response(
    pki: TestPki,
    revocations: tuple[Revocation, ...] | list[Revocation],
    request_der: bytes,
    now: datetime,
    validity: timedelta,
) -> bytes:
    """Answer one OCSP request as the issuing CA itself (responder by key hash, nonce echoed)."""
    try:
        req = ocsp.load_der_ocsp_request(request_der)
    except ValueError:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(
            ocsp.OCSPResponseStatus.MALFORMED_REQUEST
        ).public_bytes(serialization.Encoding.DER)
    issued = pki.all_issued()
    ca = next(
        (
            issued[n]
            for n in pki.ca_names
            if _key_hash(issued[n].cert, req.hash_algorithm) == req.issuer_key_hash
        ),
        None,
    )
    if ca is None:
        return ocsp.OCSPResponseBuilder.build_unsuccessful(
            ocsp.OCSPResponseStatus.UNAUTHORIZED
        ).public_bytes(serialization.Encoding.DER)
    known = {
        i.cert.serial_number
        for n, i in issued.items()
        if i.cert.issuer == ca.cert.subject and n != ca.name
    }
    hit = next(
        (r for r in revocations if r.issuer == ca.name and r.serial == req.serial_number), None
    )
    if hit is not None:
        status, rev_time, reason = ocsp.OCSPCertStatus.REVOKED, hit.revoked_at, hit.reason
    elif req.serial_number in known:
        status, rev_time, reason = ocsp.OCSPCertStatus.GOOD, None, None
    else:
        status, rev_time, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=req.issuer_name_hash,
            issuer_key_hash=req.issuer_key_hash,
            serial_number=req.serial_number,
            algorithm=req.hash_algorithm,
            cert_status=status,
            this_update=now,
            next_update=now + validity,
            revocation_time=rev_time,
            revocation_reason=reason,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, ca.cert)
    )
    with contextlib.suppress(x509.ExtensionNotFound):
        nonce = req.extensions.get_extension_for_class(x509.OCSPNonce)
        builder = builder.add_extension(nonce.value, critical=False)
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
