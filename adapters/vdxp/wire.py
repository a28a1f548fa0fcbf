"""The VDXP wire shapes: the response envelope, our error table, parameters, times, hash-file.

Everything here is pure (no I/O), so each quirk of the SDK is decided in one readable place.

**Envelope.** ``{"status": "OK", "ErrorCode": "0", "ErrorDesc": "", ...data}``; a refusal is
``{"status": "FAIL", "ErrorCode": <ours, never "0">, "ErrorDesc": "<problem code>: <message>"}``
and always answers HTTP 200: the SDK reads the envelope, and only branches on ``ErrorCode ==
"0"`` / ``status == "FAIL"`` (VDXP_API.md §3.3); an HTTP error status would surface in the
SDK as a transport failure (and be retried ``client.max-error-retry`` times) instead of the
refusal the caller should read. The problem code in ``ErrorDesc`` is the same one ``/v1``
answers with, so one refusal reads the same through both APIs.

**Error table** (``ErrorCode``; the VDXP API publishes only "0", so these are ours):

====  ==========================================================================================
"1"   authentication: ``auth.missing``, ``auth.malformed``, ``auth.bad_credentials``,
      ``auth.revoked``, ``auth.rate_limited``
"2"   a bad parameter: ``vdxp.bad_param`` (messagetype, status, dates, a missing docId)
"3"   the document is refused: ``xml.*``, ``manifest.*``, ``value.*``, ``attachment.*``,
      ``sig.*``, ``cert.*``, ``edxml.*``, ``vdxp.hash_mismatch``
"4"   routing: ``route.*``, ``auth.not_sender`` (the caller may not send for the From)
"5"   not found or not yours: ``message.not_found``, ``message.withdrawn``,
      ``ack.not_recipient``, ``auth.not_your_code``
"6"   not in this version: ``vdxp.not_supported`` (deleteAgency),
      ``vdxp.unknown_operation``, ``vdxp.method``
"7"   busy, retry in a second: ``intake.busy``
"9"   the axis failed: ``internal.error`` (with the incident id that is in the log)
====  ==========================================================================================
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Final

from axis.errors import AxisError
from registry.model import VN_TZ
from registry.sources.instants import InstantError, parse_instant

OK_CODE: Final = "0"
PREFIX: Final = "xroadvnpt-"
TIME_FORMAT: Final = "%d/%m/%Y %H:%M:%S"
"""Times in rows: ``dd/MM/yyyy HH:mm:ss``, Vietnam time, the format the SDK's date filters use."""

_EXACT: Final = {
    "auth.not_sender": "4",
    "auth.not_your_code": "5",
    "intake.busy": "7",
    "internal.error": "9",
    "vdxp.bad_param": "2",
    "vdxp.hash_mismatch": "3",
}
_FAMILIES: Final = (
    ("auth.", "1"),
    ("route.", "4"),
    ("message.", "5"),
    ("ack.", "5"),
    ("delivery.", "5"),
    ("vdxp.", "6"),
    ("query.", "2"),
    ("body.", "2"),
)


def error_code(problem_code: str) -> str:
    """Our ``ErrorCode`` for a problem code (table above); a document rule is "3"."""
    if problem_code in _EXACT:
        return _EXACT[problem_code]
    for prefix, value in _FAMILIES:
        if problem_code.startswith(prefix):
            return value
    return "3"


def ok(**data: Any) -> dict[str, Any]:
    """A success envelope carrying ``data`` (``DocId``, ``data`` ...)."""
    return {"status": "OK", "ErrorCode": OK_CODE, "ErrorDesc": "", **data}


def fail(problem_code: str, message: str) -> dict[str, Any]:
    """A refusal envelope: our ErrorCode, and the problem code leading the description."""
    return {
        "status": "FAIL",
        "ErrorCode": error_code(problem_code),
        "ErrorDesc": f"{problem_code}: {message}",
    }


def bad_param(name: str, message: str) -> AxisError:
    return AxisError("vdxp.bad_param", message, name, status=200)


class Params:
    """The logical headers of a request, as signed: names matched case-insensitively.

    The SDK never clears its header map, so a request carries keys of earlier calls too, and
    integrators spell the same key differently (``docId``, ``docid``). :meth:`get` takes the
    spellings an operation documents in order of preference, tries each as written first, and
    only then ignores case: a Bkav-style client that sent ``docId`` to getEdoc and then ``docid``
    to updateStatus carries both, and each operation picks its own.
    """

    def __init__(self, signed: Mapping[str, Any]) -> None:
        self._items: list[tuple[str, str]] = []
        for key, value in signed.items():
            name = key[len(PREFIX) :] if key.lower().startswith(PREFIX) else key
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            self._items.append((name, text))

    def get(self, *spellings: str) -> str | None:
        """The first present spelling's value (stripped), exact spelling first; None if none."""
        for spelling in spellings:
            for name, value in self._items:
                if name == spelling:
                    return value.strip()
        wanted = {s.lower() for s in spellings}
        for name, value in self._items:
            if name.lower() in wanted:
                return value.strip()
        return None

    def require(self, *spellings: str) -> str:
        value = self.get(*spellings)
        if not value:
            raise bad_param(spellings[0], f"the header {spellings[0]!r} is required")
        return value

    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self._items)


def vdxp_time(moment: dt.datetime | None) -> str:
    """``dd/MM/yyyy HH:mm:ss`` in Vietnam time ("" for none)."""
    return "" if moment is None else moment.astimezone(VN_TZ).strftime(TIME_FORMAT)


def parse_time(params: Params, name: str) -> dt.datetime | None:
    """A date filter (``fromDate``/``toDate``): ``dd/MM/yyyy HH:mm:ss`` Vietnam time, or any
    form the axis reads (ISO 8601, a date, epoch milliseconds)."""
    raw = params.get(name)
    if not raw:
        return None
    try:
        return parse_instant(raw, naive_is_local=True)
    except InstantError as exc:
        raise bad_param(name, f"{name}: {exc.message}") from None


def message_type(params: Params, *, required: bool) -> str | None:
    """``messagetype``: ``edoc`` or ``status`` (any case)."""
    raw = params.get("messagetype", "messageType")
    if not raw:
        if required:
            raise bad_param("messagetype", "the header 'messagetype' (edoc or status) is required")
        return None
    kind = raw.lower()
    if kind not in ("edoc", "status"):
        raise bad_param("messagetype", f"messagetype must be edoc or status, not {raw!r}")
    return kind


# --- the file of sendEdoc ---------------------------------------------------------------------


def unpadded_hex(digest: bytes) -> str:
    """The SDK's hex: each byte without its leading zero (0x0a -> "a"), so not always 64."""
    return "".join(f"{byte:x}" for byte in digest)


def hash_matches(data: bytes, claimed: str) -> bool:
    """Whether ``claimed`` is the SHA-256 of ``data``, in padded or the SDK's unpadded hex."""
    digest = hashlib.sha256(data).digest()
    claimed = claimed.strip().lower()
    return any(
        hmac.compare_digest(claimed.encode(), form.encode())
        for form in (digest.hex(), unpadded_hex(digest))
    )


def file_bytes(body: bytes, claimed_hash: str | None) -> bytes:
    """The edXML file a sendEdoc body carries: the body less the SDK's trailing CRLF.

    The SDK streams the file and then a CRLF that is not part of it. The CRLF is removed only
    when the file ends before it: with ``hash-file`` (which the SDK always sends), the body with
    and without the CRLF are both hashed and the one that matches is the file; a match of
    neither is ``vdxp.hash_mismatch``. Without ``hash-file``, the CRLF goes only when what
    precedes it ends the document (its last non-blank byte is the root's closing ``>``), so a
    file that itself ends with a line break keeps it when the client adds none. Either way the
    stored payload is the sender's file byte for byte, which /v1 and getEdoc hand back.
    """
    stripped = body[:-2] if body.endswith(b"\r\n") else None
    if claimed_hash:
        for candidate in (stripped, body):
            if candidate is not None and hash_matches(candidate, claimed_hash):
                return candidate
        raise AxisError(
            "vdxp.hash_mismatch",
            "hash-file is not the SHA-256 of the file (with or without the trailing CRLF)",
            "hash-file",
            status=200,
        )
    if stripped is not None and stripped.rstrip().endswith(b">"):
        return stripped
    return body
