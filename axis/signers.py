"""Signer bindings: which agency codes a signing certificate may sign for (model, operations).

Real VGCA certificates name a person or a body, never an agency code, so a valid signature alone
cannot say that the agency in ``From/OrganId`` signed (SIGNATURES.md A4/A5). An admin binds a
certificate -- by the SHA-256 of its DER, or by its issuer and serial number -- to the codes it
signs for; the binding lives in the shared store (``store.put_entry("signer", key, ...)``,
audited ``signer.bound`` / ``signer.removed`` with the admin and the client address), so every
node reads the same table. One module for the CLI (``axis signers``), the API (``/v1/signers``)
and the web console: :func:`binding_for_certificate`, :func:`binding_for_issuer_serial`,
:func:`bind`, :func:`unbind`, :func:`list_bindings`. How the intake uses the table is
:mod:`axis.signer_check`; the whole story for a newcomer is ``docs/signers.md``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

import structlog
from cryptography import x509

from axis.auth.tls import certificate_der
from axis.clock import iso
from axis.errors import AxisError, NotFoundError
from axis.store.protocol import Store
from axis.store.records import AuditDraft
from registry.codes import AgencyCode, AgencyCodeError, descends_from
from signing.binding import certificate_sha256, issuer_serial_key

_log = structlog.get_logger("axis.signers")

KIND: Final = "signer"
"""The store's entry kind of signer bindings."""
_SHA256: Final = re.compile(r"[0-9a-f]{64}")
_SERIAL: Final = re.compile(r"[0-9A-F]{1,64}")

By = Literal["sha256", "issuer-serial"]
BY_CHOICES: Final[tuple[By, ...]] = ("sha256", "issuer-serial")


def _bad(code: str, message: str, location: str) -> AxisError:
    return AxisError(code, message, location, status=400)


# --- the model ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignerBinding:
    """One certificate (by SHA-256, or by issuer and serial) and the codes it signs for."""

    key: str
    by: By
    codes: tuple[str, ...]
    exact: bool = False
    sha256: str | None = None
    issuer: str | None = None  # RFC 4514, as given or read from the certificate
    serial: str | None = None  # upper-case hex
    subject: str | None = None  # when bound from a certificate
    not_after: str | None = None  # the certificate's end, ISO 8601 (when known)
    bound_at: str | None = None
    bound_by: str | None = None

    def covers(self, code: str) -> bool:
        """Whether a document from ``code`` may carry this signer's signature."""
        if code in self.codes:
            return True
        return not self.exact and descends_from(code, self.codes)

    def reach(self) -> str:
        """How far the codes reach, for a message: exactly, or with the bodies under them."""
        return "exactly" if self.exact else "and the bodies under them"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (stored body, API and ``--json``): every field, the key included."""
        return {
            "key": self.key,
            "by": self.by,
            "codes": list(self.codes),
            "exact": self.exact,
            "sha256": self.sha256,
            "issuer": self.issuer,
            "serial": self.serial,
            "subject": self.subject,
            "not_after": self.not_after,
            "bound_at": self.bound_at,
            "bound_by": self.bound_by,
        }

    @classmethod
    def from_dict(cls, key: str, body: Mapping[str, Any]) -> SignerBinding:
        """A stored body read back; ``ValueError`` for one this version cannot read."""
        by = body.get("by")
        codes = body.get("codes")
        if by not in BY_CHOICES or not isinstance(codes, list) or not codes:
            raise ValueError(f"signer binding {key!r}: no 'by' or no codes")

        def text(name: str) -> str | None:
            value = body.get(name)
            return value if isinstance(value, str) else None

        return cls(
            key=key,
            by=by,
            codes=tuple(str(c) for c in codes),
            exact=bool(body.get("exact", False)),
            sha256=text("sha256"),
            issuer=text("issuer"),
            serial=text("serial"),
            subject=text("subject"),
            not_after=text("not_after"),
            bound_at=text("bound_at"),
            bound_by=text("bound_by"),
        )


def read_bindings(entries: Mapping[str, Mapping[str, Any]]) -> dict[str, SignerBinding]:
    """The store's ``signer`` entries as bindings, by key; an unreadable one is logged and
    left out (a newer version's record must not stop this one's intake)."""
    table: dict[str, SignerBinding] = {}
    for key, body in entries.items():
        try:
            table[key] = SignerBinding.from_dict(key, body)
        except ValueError as exc:
            _log.error("signer.unreadable", key=key, error=str(exc))
    return table


def parse_codes(codes: str | Sequence[Any]) -> tuple[str, ...]:
    """``A,B`` or ``["A", "B"]``: each a valid agency code (QĐ 20/2020 grammar), no repeats."""
    parts = codes.split(",") if isinstance(codes, str) else list(codes)
    found: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            raise _bad("signer.bad_code", f"an agency code is a string, not {part!r}", "codes")
        text = part.strip()
        try:
            code = AgencyCode.parse(text).text
        except AgencyCodeError as exc:
            where = f" at position {exc.position}" if exc.position is not None else ""
            raise _bad(
                "signer.bad_code",
                f"bad agency code {text!r}: {exc.code}{where}: {exc.message}",
                "codes",
            ) from None
        if code not in found:
            found.append(code)
    if not found:
        raise _bad("signer.bad_code", "a binding needs at least one agency code", "codes")
    return tuple(found)


def load_certificate(data: bytes | str) -> x509.Certificate:
    """A certificate from PEM or DER bytes (or PEM text); ``signer.bad_certificate`` if not."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        return x509.load_der_x509_certificate(certificate_der(raw))
    except ValueError:
        raise _bad(
            "signer.bad_certificate", "not an X.509 certificate (PEM or DER)", "certificate"
        ) from None


def parse_issuer(text: str) -> x509.Name:
    """An issuer's distinguished name: RFC 4514 (``CN=...,O=...,C=VN``), spaces after the commas
    and around ``=`` tolerated (OpenSSL prints ``C = VN, O = ...``: the order does not matter,
    see :func:`signing.binding.canonical_name`)."""
    candidates = (text.strip(), re.sub(r"\s*(?<!\\)([,+=])\s*", r"\1", text.strip()))
    for candidate in candidates:
        try:
            name = x509.Name.from_rfc4514_string(candidate)
        except ValueError:
            continue
        if len(name) > 0:
            return name
    raise _bad(
        "signer.bad_issuer",
        f"{text!r} is not a distinguished name (RFC 4514, e.g. CN=...,O=...,C=VN)",
        "issuer",
    )


def parse_serial(text: str) -> int:
    """A serial number in hex (``7AF2DF52182653D3``, ``7a:f2:df``, ``0x7AF2``)."""
    cleaned = re.sub(r"[\s:]", "", text.strip()).upper().removeprefix("0X")
    if not _SERIAL.fullmatch(cleaned):
        raise _bad("signer.bad_serial", f"{text!r} is not a hexadecimal serial number", "serial")
    return int(cleaned, 16)


def binding_for_certificate(
    cert: x509.Certificate, codes: Sequence[str], *, by: By = "sha256", exact: bool = False
) -> SignerBinding:
    """A binding of ``cert`` (by its SHA-256, or by its issuer and serial) to ``codes``."""
    sha256 = certificate_sha256(cert)
    common = {
        "codes": tuple(codes),
        "exact": exact,
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "X"),
        "subject": cert.subject.rfc4514_string(),
        "not_after": iso(cert.not_valid_after_utc),
    }
    if by == "sha256":
        return SignerBinding(key=sha256, by="sha256", sha256=sha256, **common)  # type: ignore[arg-type]
    key = issuer_serial_key(cert.issuer, cert.serial_number)
    return SignerBinding(key=key, by="issuer-serial", **common)  # type: ignore[arg-type]


def binding_for_issuer_serial(
    issuer: str, serial: str, codes: Sequence[str], *, exact: bool = False
) -> SignerBinding:
    """A binding of whatever certificate ``issuer`` issued with ``serial`` (no certificate at
    hand: the serial from a registration form, the issuer's name from its CA certificate)."""
    name = parse_issuer(issuer)
    number = parse_serial(serial)
    return SignerBinding(
        key=issuer_serial_key(name, number),
        by="issuer-serial",
        codes=tuple(codes),
        exact=exact,
        issuer=name.rfc4514_string(),
        serial=format(number, "X"),
    )


def check_key(key: str) -> str:
    """A binding key as the CLI and the API take it: 64 hex digits, or ``is:...:SERIAL``."""
    text = key.strip()
    if _SHA256.fullmatch(text.lower()):
        return text.lower()
    if re.fullmatch(r"is:[0-9a-f]{20}:[0-9A-F]{1,64}", text):
        return text
    raise _bad(
        "signer.bad_key",
        f"{key!r} is not a binding key (a certificate's SHA-256 in hex, or is:<digest>:<serial>)",
        "key",
    )


# --- operations on the store --------------------------------------------------------------------


async def list_bindings(store: Store) -> list[SignerBinding]:
    """Every binding in the store, by key; an unreadable entry is logged and left out."""
    return list(read_bindings(await store.entries(KIND)).values())


async def bind(
    store: Store,
    binding: SignerBinding,
    *,
    at: dt.datetime,
    system_id: str,
    address: str | None = None,
    replace_existing: bool = False,
) -> tuple[SignerBinding, bool]:
    """Store ``binding`` (audited ``signer.bound``); (the stored binding, whether it replaced
    one). An existing key is ``signer.exists`` (409) unless ``replace_existing``."""
    existing = (await store.entries(KIND)).get(binding.key)
    if existing is not None and not replace_existing:
        raise AxisError(
            "signer.exists",
            f"certificate {binding.key} is already bound to {', '.join(existing.get('codes', []))}"
            " (replace it, or remove it first)",
            "key",
            status=409,
        )
    stored = replace(binding, bound_at=iso(at), bound_by=system_id)
    audit = AuditDraft(
        kind="signer.bound",
        at=at,
        system_id=system_id,
        address=address,
        codes=stored.codes,
        data={**_audit_data(stored), "replaced": existing is not None},
    )
    await store.put_entry(KIND, stored.key, stored.to_dict(), audit)
    _log.info("signer.bound", key=stored.key, codes=list(stored.codes), by=system_id)
    return stored, existing is not None


async def unbind(
    store: Store, key: str, *, at: dt.datetime, system_id: str, address: str | None = None
) -> SignerBinding:
    """Remove the binding ``key`` (audited ``signer.removed``); ``signer.not_found`` (404)."""
    body = (await store.entries(KIND)).get(key)
    if body is None:
        raise NotFoundError("signer.not_found", f"no signer binding {key}", "key")
    try:
        removed = SignerBinding.from_dict(key, body)
        data, codes = _audit_data(removed), removed.codes
    except ValueError:  # an unreadable entry can still be removed
        removed = SignerBinding(key=key, by="sha256", codes=())
        data, codes = {"key": key}, ()
    audit = AuditDraft(
        kind="signer.removed", at=at, system_id=system_id, address=address, codes=codes, data=data
    )
    await store.put_entry(KIND, key, None, audit)
    _log.info("signer.removed", key=key, by=system_id)
    return removed


def _audit_data(binding: SignerBinding) -> dict[str, Any]:
    data = binding.to_dict()
    for name in ("bound_at", "bound_by", "codes"):  # the event has its own at, system, codes
        data.pop(name)
    return {k: v for k, v in data.items() if v is not None}
