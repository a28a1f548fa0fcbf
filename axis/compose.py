"""Packages the demo and the tests send: letters, revokes, status answers, signed by an agency.

What a document system's library does when it sends (build the edXML, sign it with the agency's
certificate); kept in the axis because ``axis demo`` uses it on a machine without the tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

import edxml
from axis.clock import VN_TZ
from edxml import (
    Attachment,
    Business,
    BusinessDocType,
    Code,
    Document,
    DocumentType,
    ManifestReference,
    MessageHeader,
    Organization,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    Status,
    StatusCode,
    TraceHeader,
    TraceHeaderList,
)
from edxml.attachments import attachment_from_file
from edxml.xmlsafe import parse_xml
from signing import sign
from signing.pki.issuer import Builder, agency_subject, dn, new_rsa_key
from signing.pki.model import Issued
from signing.sign import SigningKey


def document_id(sender: str, day: dt.date, number: str, notation: str) -> str:
    """``{OrganId},{yyyy/MM/dd},{number}/{notation}``, the form EDXML.md gives."""
    return f"{sender},{day:%Y/%m/%d},{number}/{notation}"


def letter(
    sender: Organization,
    recipients: Sequence[Organization],
    *,
    number: str,
    subject: str,
    day: dt.date,
    notation: str = "UBND-VP",
    business: BusinessDocType = BusinessDocType.NEW,
    refers_to: str | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> Document:
    """A Công văn from ``sender`` to ``recipients``; a revoke/update/replace names ``refers_to``."""
    attachments: tuple[Attachment, ...] = ()
    if attachment is not None:
        attachments = (attachment_from_file(attachment[0], attachment[1], content_id="att-1"),)
    reason = {
        BusinessDocType.NEW: "Văn bản điện tử mới",
        BusinessDocType.REVOKE: "thu hồi",
        BusinessDocType.UPDATE: "cập nhật",
        BusinessDocType.REPLACE: "thay thế",
    }[business]
    header = MessageHeader(
        from_=sender,
        to=tuple(recipients),
        document_id=document_id(sender.organ_id, day, number, notation),
        code=Code(number, notation),
        promulgation_info=PromulgationInfo(sender.organ_add or "Hà Nội", day),
        document_type=DocumentType(1, 0, "Công văn"),
        subject=subject,
        content=subject,
        signer_info=SignerInfo("KT. CHỦ TỊCH", "Phó Chủ tịch", "Nguyễn Văn Hòa"),
        steering_type=1,
    )
    stamp = dt.datetime.combine(day, dt.time(9, 30))
    trace = TraceHeaderList(
        traces=(TraceHeader(sender.organ_id, stamp),),
        business=Business(
            business,
            reason,
            refers_to if business != BusinessDocType.NEW else None,
            paper=0,
        ),
    )
    return Document(
        header=header,
        trace=trace,
        manifest=tuple(
            ManifestReference(a.content_id, a.content_type, a.description, a.name)
            for a in attachments
        ),
        attachments=attachments,
    )


def status_answer(
    responder: Organization,
    original: Document,
    code: StatusCode,
    description: str,
    at: dt.datetime,
) -> Status:
    """The status package ``responder`` sends back about ``original``."""
    header = original.header
    day = header.promulgation_info.date if header.promulgation_info else None
    return Status(
        from_=responder,
        response_for=ResponseFor(
            header.from_.organ_id,
            None if header.code is None else f"{header.code.number}/{header.code.notation}",
            day,
            header.document_id,
        ),
        status_code=code,
        description=description,
        timestamp=at.astimezone(VN_TZ).replace(tzinfo=None, microsecond=0),
    )


def signed(package: edxml.Package, key: SigningKey, chain: Sequence[x509.Certificate]) -> bytes:
    """The package built and signed (enveloped, whole document) with ``key``."""
    tree = parse_xml(edxml.build(package))
    sign(tree, key, list(chain))
    return etree.tostring(tree, encoding="UTF-8", xml_declaration=True)


def agency_certificate(
    issuer_cert: x509.Certificate,
    issuer_key: SigningKey,
    code: str,
    organisation: str,
    *,
    not_before: dt.datetime,
    days: int = 365,
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A signing certificate for one agency, issued by a (test) CA: the agency's code in the
    subject as ``UID=MDDT:<code>``, the test PKI's convention for binding a signer to a sender."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = agency_subject(organisation, code, organisation.upper(), "Việt Nam")
    cert = signing_certificate(
        issuer_cert, issuer_key, subject, key, not_before=not_before, days=days
    )
    return key, cert


def signing_certificate(
    issuer_cert: x509.Certificate,
    issuer_key: SigningKey,
    subject: x509.Name,
    key: rsa.RSAPrivateKey,
    *,
    not_before: dt.datetime,
    days: int = 365,
) -> x509.Certificate:
    """An end-entity signing certificate for ``subject`` and ``key``, issued by a (test) CA:
    the extensions a VGCA signing certificate carries (digitalSignature, nonRepudiation)."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())
    )


def small_ca(directory: Path) -> tuple[Issued, Issued, Path]:
    """A root and a sub CA (RSA-2048, made with cryptography: no openssl needed) for the demo
    and the benchmark: ``directory/trust`` holds the root as the only anchor and the sub CA as
    its intermediate (what ``AXIS_TRUST_DIR`` takes)."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    builder = Builder(directory, "http://127.0.0.1:9", now)
    years = dt.timedelta(days=3650)
    org = (NameOID.ORGANIZATION_NAME, "Ban Cơ yếu Chính phủ (thử nghiệm)")
    root = builder.ca(
        "root",
        dn((NameOID.COUNTRY_NAME, "VN"), org, (NameOID.COMMON_NAME, "Root CA thử nghiệm")),
        new_rsa_key(2048),
        None,
        now - dt.timedelta(days=1),
        now + years,
    )
    sub_ca = builder.ca(
        "sub_ca",
        dn(
            (NameOID.COUNTRY_NAME, "VN"),
            org,
            (NameOID.COMMON_NAME, "CA cơ quan Nhà nước thử nghiệm"),
        ),
        new_rsa_key(2048),
        root,
        now - dt.timedelta(days=1),
        now + years,
        path_length=0,
    )
    trust = directory / "trust"
    (trust / "intermediates").mkdir(parents=True, exist_ok=True)
    (trust / "root.pem").write_bytes(root.cert_path.read_bytes())
    (trust / "intermediates" / "sub_ca.pem").write_bytes(sub_ca.cert_path.read_bytes())
    return root, sub_ca, trust
