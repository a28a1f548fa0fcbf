"""What a signer certificate says about the agency it signs for, read so that it cannot be fooled.

A valid signature by *some* government certificate proves nothing about *who* sent a document
(SIGNATURES.md A4/A5). Real VGCA certificates name a person or a body, not an agency code, so the
axis binds them explicitly (an admin's certificate -> codes mapping, :mod:`axis.signers`). The
test PKI, and any CA that follows its convention, also names the code in the certificate; that
*implicit* binding is read from ONE documented place only:

    the subject's ``UID`` (0.9.2342.19200300.100.1.1) attribute, whose value is exactly
    ``MDDT:<code>`` -- the label in upper-case ASCII, no space, the code in the QĐ 20/2020
    grammar (upper-case ``[0-9A-Z]`` groups separated by dots, at most 35 characters).

Anything else that looks like a code is *not* a binding, but it is counted: a subject that names
more than one distinct agency code, in whatever attribute (a second ``UID``, ``serialNumber``,
``organizationIdentifier``, ``OU``, ``CN``, one value of a multi-valued RDN, a label spelt
``MDDT :`` or ``mddt:``, a code with look-alike letters or digits, zero-width characters...), is
*ambiguous* and binds to nothing: an attacker who can get a code of his own choosing into some
attribute must not get to choose which attribute the axis reads. Codes are found leniently on
purpose (Unicode-normalised, any script's letters and digits, any separator): a false find only
makes a certificate ambiguous, which an explicit binding overrides; a missed one could bind a
forged identity. A subject with exactly one ``MDDT`` label repeated (two UIDs with the same code)
is not ambiguous, but it is not the ONE attribute either: it binds implicitly to nothing.

Also here, because the worker computes them once per certificate (:mod:`signing.certfacts`): the
certificate's SHA-256 (the key of an explicit binding) and its issuer-and-serial key (the other
key, for an admin who has the issuer's name and the serial number but not the certificate).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

IMPLICIT_LABEL: Final = "MDDT:"
"""The label of the implicit binding (the test PKI's ``AGENCY_CODE_PREFIX``)."""
IMPLICIT_ATTRIBUTE: Final = NameOID.USER_ID
"""The one subject attribute the implicit binding is read from."""

# QĐ 20/2020: dot-separated groups of upper-case ASCII letters and digits, at most 35 characters
# (the grammar of registry.codes.AgencyCode.parse, which the signing library does not import).
_STRICT_CODE: Final = re.compile(r"[0-9A-Z]+(?:\.[0-9A-Z]+)*")
_MAX_CODE: Final = 35
# A QCVN 102 code ``AAA.BB.CC.Lnn`` anywhere, leniently: any script's digits and letters, up to
# three separators of any kind between the groups (or none), never inside a longer digit run.
_LOOSE_QCVN: Final = re.compile(
    r"(?<!\d)(\d{3})[\W_]{0,3}(\d{2})[\W_]{0,3}(\d{2})[\W_]{0,3}([^\W\d_])[\W_]{0,3}(\d{2})(?!\d)"
)
_SHORT_NAMES: Final = {
    NameOID.USER_ID: "UID",
    NameOID.SERIAL_NUMBER: "serialNumber",
    x509.ObjectIdentifier("2.5.4.97"): "organizationIdentifier",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.COMMON_NAME: "CN",
}


@dataclass(frozen=True, slots=True)
class SubjectCodes:
    """The agency codes a certificate subject names, and the one it binds to implicitly.

    ``implicit``: the code of the ONE ``UID=MDDT:<code>`` attribute; None when there is none, it
    is not spelt exactly so, or the subject is ambiguous. ``named``: every distinct code the
    subject names anywhere, normalised (upper case, ASCII digits, dots), in order of appearance;
    look-alike letters stay as they are, so ``000.00.00.Н38`` (Cyrillic Н) is another code.
    ``places``: for each of ``named``, the attributes it was found in (``UID``, ``OU``...).
    """

    implicit: str | None
    named: tuple[str, ...]
    places: tuple[tuple[str, ...], ...] = ()

    @property
    def ambiguous(self) -> bool:
        """More than one agency code in the subject: the certificate binds to none of them."""
        return len(self.named) > 1

    def describe(self) -> str:
        """``000.00.00.H38 (UID), 000.00.00.H40 (OU)``, non-ASCII shown as ``\\uXXXX``."""
        parts = []
        for index, code in enumerate(self.named):
            where = self.places[index] if index < len(self.places) else ()
            parts.append(printable(code) + (f" ({', '.join(where)})" if where else ""))
        return ", ".join(parts)


def printable(text: str) -> str:
    """``text`` with every non-ASCII character as ``\\uXXXX``: a look-alike is seen as one."""
    return "".join(c if c.isascii() and c.isprintable() else f"\\u{ord(c):04X}" for c in text)


def _value_text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _clean(text: str) -> str:
    """NFKC (fullwidth and compatibility forms to plain ones) without format characters
    (zero-width spaces and joiners, bidi marks), so hidden characters split no code."""
    normal = unicodedata.normalize("NFKC", text)
    return "".join(c for c in normal if unicodedata.category(c) != "Cf")


def _ascii_digits(text: str) -> str:
    """Any script's digits as ASCII ones (``٣`` -> ``3``): a code means its digits' values."""
    out = []
    for c in text:
        value = unicodedata.digit(c, None) if not c.isascii() else None
        out.append(c if value is None else str(value))
    return "".join(out)


def _is_mddt_label(label: str) -> bool:
    """``MDDT``, ``mddt``, ``M D D T``, ``MĐĐT``: every spelling of the label, for counting."""
    letters = "".join(c for c in label if c.isalpha()).replace("Đ", "D").replace("đ", "d")
    return letters.casefold() == "mddt"


def _labelled_code(text: str) -> str | None:
    """The code after an ``MDDT``-like label (``LABEL:code``), normalised; None without one."""
    label, colon, rest = text.partition(":")
    if not colon or not _is_mddt_label(label):
        return None
    code = _ascii_digits("".join(rest.split()).upper())
    # only a code-shaped value counts here; codes inside anything else are the scan's to find
    return code if _STRICT_CODE.fullmatch(code) and len(code) <= _MAX_CODE else None


def subject_codes(name: x509.Name) -> SubjectCodes:
    """Every agency code ``name`` names, and the one it binds to implicitly (see the module)."""
    found: dict[str, list[str]] = {}
    labelled: list[tuple[x509.ObjectIdentifier, str]] = []

    def note(code: str, oid: x509.ObjectIdentifier) -> None:
        places = found.setdefault(code, [])
        short = _SHORT_NAMES.get(oid, oid.dotted_string)
        if short not in places:
            places.append(short)

    for attribute in name:
        raw = _value_text(attribute.value)
        text = _clean(raw)
        code = _labelled_code(text)
        if code is not None:
            labelled.append((attribute.oid, raw))
            note(code, attribute.oid)
        for match in _LOOSE_QCVN.finditer(text):
            a, b, c, letter, digits = match.groups()
            note(_ascii_digits(f"{a}.{b}.{c}.{letter.upper()}{digits}"), attribute.oid)
    named = tuple(found)
    implicit: str | None = None
    if len(labelled) == 1 and len(named) == 1:
        oid, raw = labelled[0]
        value = raw[len(IMPLICIT_LABEL) :]
        if (
            oid == IMPLICIT_ATTRIBUTE
            and raw.startswith(IMPLICIT_LABEL)
            and len(value) <= _MAX_CODE
            and value.isascii()
            and _STRICT_CODE.fullmatch(value)
            and value == named[0]
        ):
            implicit = value
    return SubjectCodes(implicit, named, tuple(tuple(found[c]) for c in named))


def agency_codes(cert: x509.Certificate) -> tuple[str, ...]:
    """The code ``cert`` binds to implicitly, as a tuple of zero or one (see the module)."""
    implicit = subject_codes(cert.subject).implicit
    return () if implicit is None else (implicit,)


def names_agency(cert: x509.Certificate, code: str) -> bool:
    """Whether ``cert`` binds implicitly to exactly this agency code (whole value)."""
    return bool(code) and agency_codes(cert) == (code.strip().upper(),)


def certificate_sha256(cert: x509.Certificate) -> str:
    """The key of an explicit binding: lower-case hex SHA-256 of the certificate's DER."""
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def _fold(value: str | bytes) -> str:
    if isinstance(value, bytes):
        return "#" + value.hex()
    return " ".join(unicodedata.normalize("NFC", value).casefold().split())


def canonical_name(name: x509.Name | Iterable[x509.NameAttribute[Any]]) -> str:
    """A distinguished name for comparison: each attribute ``OID=value`` with values NFC,
    case-folded and whitespace-collapsed (RFC 5280's caseIgnoreMatch, roughly), sorted, so the
    RFC 4514 order, OpenSSL's reversed one and RDN grouping all compare equal."""
    return ",".join(sorted(f"{a.oid.dotted_string}={_fold(a.value)}" for a in name))


def issuer_serial_key(issuer: x509.Name, serial: int) -> str:
    """The key of a binding by issuer and serial: ``is:<issuer digest>:<SERIAL HEX>``."""
    digest = hashlib.sha256(canonical_name(issuer).encode("utf-8")).hexdigest()[:20]
    return f"is:{digest}:{serial:X}"


def signer_label(subject: str | None, sha256: str | None) -> str:
    """How a message names a signer: ``CN=<its CN>, SHA-256 ab12cd34ef56…`` (the whole subject
    when it has no CN), enough for an admin to find the certificate in ``axis signers list``."""
    shown = subject or "no subject"
    if subject:
        try:
            names = x509.Name.from_rfc4514_string(subject).get_attributes_for_oid(
                NameOID.COMMON_NAME
            )
        except ValueError:
            names = []
        if names:
            shown = f"CN={_value_text(names[0].value)}"
    return f"{shown}, SHA-256 {sha256[:12]}…" if sha256 else shown


def ambiguous_message(label: str, codes: SubjectCodes) -> str:
    """Why an ambiguous certificate binds to nothing, naming every code found."""
    return (
        f"the signer's certificate ({label}) names {len(codes.named)} agency codes: "
        f"{codes.describe()}; a certificate binds to one agency, through its UID "
        f"{IMPLICIT_LABEL}<code> alone, or through an admin's binding (axis signers)"
    )


def not_sender_message(label: str, bound: Iterable[str], how: str, sender: str) -> str:
    """The refusal of a signer bound elsewhere, naming both sides."""
    return (
        f"the signer's certificate ({label}) is bound to {', '.join(bound)} ({how}) "
        f"but the document is from {printable(sender)}"
    )
