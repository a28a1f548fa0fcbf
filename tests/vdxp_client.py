"""A VDXP client written from the specification (VDXP_API.md §3.2-3.3), not from our server.

It behaves on the wire as VNPT's SDKVXP 2.0.x does, quirks included, so the tests prove that an
unchanged SDK-based system can talk to our axis:

* one map of "logical headers" per client object, never cleared: keys of earlier calls
  (``hash-file``, ``to``, ``docId`` ...) leak into later requests;
* ``systemid`` and a ``timestamp`` in the pattern ``ddMMyyyy'T'HHmmss+SSSS`` (``+`` then the
  milliseconds, not a zone), set once when the client is made;
* for each logical header ``XroadVnpt-<name>: value`` (and the raw ``Content-Type``), the
  compact JSON ``XroadVnpt-sign-header`` in arbitrary key order (a Java HashMap's),
  ``XroadVnpt-sign-header-key`` (the names joined with ``;``), ``XroadVnpt-hash-header`` =
  lowercase hex HMAC-SHA256(secret, sign-header), ``XroadVnpt-version``, the SDK's User-Agent;
* ``sendEdoc``: the raw file then a CRLF, ``hash-file`` in the SDK's unpadded hex; a JSON value
  such as the ``to`` array is sent as its JSON text;
* ``getEdoc`` saves the decoded file as ``{filePath}/{yyyy}/{M}/{docId}.edxml``.

Two hooks serve the refusal tests: ``sign_key`` signs with another key, ``tamper`` rewrites the
sign-header after it was signed.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

USER_AGENT = "JAVASDKAgent/1.0.0 XRoad/VPCP"
SDK_VERSION = "3.0.201608"
HEADER_PREFIX = "XroadVnpt-"


def sdk_timestamp(moment: dt.datetime) -> str:
    """``ddMMyyyy'T'HHmmss+SSSS``: Java's SSSS is the milliseconds, zero-padded to four."""
    return moment.strftime("%d%m%YT%H%M%S") + f"+{moment.microsecond // 1000:04d}"


def sdk_hex(digest: bytes) -> str:
    """The SDK's hex: ``Integer.toHexString(b & 0xff)`` per byte, so no leading zeros."""
    return "".join(format(byte, "x") for byte in digest)


@dataclass
class VdxpReply:
    """What came back: the HTTP status, the envelope, and the headers this request carried."""

    http_status: int
    body: dict[str, Any]
    sent_headers: list[tuple[str, str]]

    @property
    def ok(self) -> bool:
        return self.body.get("status") == "OK" and self.body.get("ErrorCode") == "0"


class VdxpClient:
    """One SDK instance of one system (``systemid`` and ``secret`` as configured)."""

    def __init__(
        self,
        port: int,
        system_id: str,
        secret: str,
        *,
        base: str = "/vdxp",
        seed: int = 7,
        created: dt.datetime | None = None,
    ) -> None:
        self.port = port
        self.base = base
        self._secret = secret
        moment = created or dt.datetime.now()
        self._logical: dict[str, str] = {"systemid": system_id, "timestamp": sdk_timestamp(moment)}
        self._order = random.Random(seed)  # a HashMap's order: arbitrary, not sorted
        self.sign_key: str | None = None
        self.tamper: Callable[[str], str] | None = None

    @property
    def timestamp(self) -> str:
        return self._logical["timestamp"]

    def _call(
        self,
        operation: str,
        header: Mapping[str, Any],
        body: bytes = b"",
        content_type: str = "application/json",
    ) -> VdxpReply:
        for name, value in header.items():
            self._logical[name] = (
                value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
            )
        self._logical["Content-Type"] = content_type
        names = list(self._logical)
        self._order.shuffle(names)
        sign_header = json.dumps(
            {HEADER_PREFIX + name: self._logical[name] for name in names},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        key = (self.sign_key if self.sign_key is not None else self._secret).encode("utf-8")
        digest = hmac.new(key, sign_header.encode("utf-8"), hashlib.sha256).hexdigest()
        if self.tamper is not None:
            sign_header = self.tamper(sign_header)
        headers = [(HEADER_PREFIX + name, self._logical[name]) for name in names]
        headers += [
            ("Content-Type", content_type),
            (HEADER_PREFIX + "sign-header", sign_header),
            (HEADER_PREFIX + "sign-header-key", ";".join(names)),
            (HEADER_PREFIX + "hash-header", digest),
            (HEADER_PREFIX + "version", SDK_VERSION),
            ("User-Agent", USER_AGENT),
        ]
        return self.post(f"{self.base}/{operation}", headers, body)

    def post(self, path: str, headers: list[tuple[str, str]], body: bytes) -> VdxpReply:
        """One POST with exactly these headers, in this order and casing."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.putrequest("POST", path, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value.encode("utf-8"))
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            raw = response.read()
            return VdxpReply(response.status, json.loads(raw.decode("utf-8")), headers)
        finally:
            connection.close()

    # --- the SDK's operations ---------------------------------------------------------------

    def send_edoc(self, header: Mapping[str, Any], data: bytes) -> VdxpReply:
        """The file's bytes then CRLF (the SDK's "multipart" helper), hash-file unpadded."""
        self._logical["hash-file"] = sdk_hex(hashlib.sha256(data).digest())
        return self._call("sendEdoc", header, data + b"\r\n", "application/octet-stream")

    def get_received_edoc_list(self, messagetype: str = "edoc", **extra: str) -> VdxpReply:
        return self._call(
            "getReceivedEdocList", {"servicetype": "eDoc", "messagetype": messagetype, **extra}
        )

    def get_sent_edoc_list(self, messagetype: str = "edoc", **extra: str) -> VdxpReply:
        return self._call(
            "getSentEdocList", {"servicetype": "eDoc", "messagetype": messagetype, **extra}
        )

    def get_edoc(self, doc_id: str, file_path: Path) -> tuple[VdxpReply, bytes | None]:
        """The reply and, on success, the file as the SDK saves it."""
        reply = self._call("getEdoc", {"docId": doc_id, "filePath": str(file_path)})
        if not reply.ok:
            return reply, None
        data = base64.b64decode(reply.body["data"])
        today = dt.date.today()
        target = file_path / f"{today.year}" / f"{today.month}" / f"{doc_id}.edxml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return reply, target.read_bytes()

    def update_status(self, doc_id: str, status: str, *, key: str = "docid") -> VdxpReply:
        """Bkav spells the id ``docid``; the .NET SDK ``docId``."""
        return self._call("updateStatus", {key: doc_id, "status": status})

    def get_agencies_list(self) -> VdxpReply:
        return self._call("getAgenciesList", {})

    def get_synchronize_unit(self) -> VdxpReply:
        return self._call("getSynchronizeUnit", {})

    def register_agency(self, agency: Mapping[str, str]) -> VdxpReply:
        body = json.dumps(dict(agency), ensure_ascii=False).encode("utf-8")
        return self._call("registerAgency", {}, body)

    def delete_agency(self, code: str) -> VdxpReply:
        return self._call("deleteAgency", {"AgencyCode": code})
