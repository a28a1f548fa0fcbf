"""Binding the signer to the sender: the certificate must name the agency that sends the document.

A valid signature by *some* government certificate proves nothing about *who* sent a document
(SIGNATURES.md A4/A5; Decree 68/2024 moves authority out of the DN). The axis therefore compares
the agency code (mã định danh, e.g. ``000.00.01.H53``) named in the signer's certificate with the
envelope's ``From/OrganId``. Where a certificate names the code: a subject ``UID`` (the test PKI
writes ``MDDT:<code>``, the way real certificates write ``MST:<tax id>``), ``serialNumber``,
``organizationIdentifier`` or ``OU`` attribute whose value, after an optional ``LABEL:`` prefix, is
the code. Real VGCA certificates seen so far name no agency code: for them the axis must bind
through the registry (a certificate -> agency mapping), never through the DN's free text.
"""

from __future__ import annotations

import re
from functools import lru_cache

from cryptography import x509
from cryptography.x509.oid import NameOID

_CODE_ATTRIBUTES = (
    NameOID.USER_ID,
    NameOID.SERIAL_NUMBER,
    x509.ObjectIdentifier("2.5.4.97"),  # organizationIdentifier
    NameOID.ORGANIZATIONAL_UNIT_NAME,
)
_LABEL = re.compile(r"^[^:]{1,16}:")


@lru_cache(maxsize=1024)
def agency_codes(cert: x509.Certificate) -> tuple[str, ...]:
    """Every value in the certificate subject that can name an agency code (labels stripped)."""
    codes: list[str] = []
    for oid in _CODE_ATTRIBUTES:
        for attribute in cert.subject.get_attributes_for_oid(oid):
            raw = attribute.value
            value = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
            value = _LABEL.sub("", value.strip()).strip()
            if value:
                codes.append(value)
    return tuple(codes)


def names_agency(cert: x509.Certificate, code: str) -> bool:
    """Whether the certificate names exactly this agency code (case-insensitive, whole value)."""
    wanted = code.strip().upper()
    return bool(wanted) and any(c.upper() == wanted for c in agency_codes(cert))
