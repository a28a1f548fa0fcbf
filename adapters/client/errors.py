"""The one error a client of the axis sees: the server's problem, or why there was no answer.

It derives from :class:`edxml.CodedError` so a document system handles a refusal from the axis
exactly as it handles a refusal from the local edXML checker: by its stable ``code``, with the
``location`` that names the place (``recipients``, ``recipient[2]``, an element path).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edxml import CodedError

#: Codes the client itself gives (no problem JSON came back).
NETWORK = "client.network"
UNEXPECTED = "client.unexpected_response"


class AxisClientError(CodedError):
    """A problem response (``status`` is its HTTP status, ``body`` the whole problem JSON, with
    ``problems`` per recipient when there are several), or a failure to reach the axis
    (``status`` 0, code ``client.network``)."""

    def __init__(
        self,
        code: str,
        message: str,
        location: str | None = None,
        status: int = 0,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(code, message, location)
        self.status = status
        self.body: Mapping[str, Any] = body if body is not None else {}

    @property
    def problems(self) -> list[dict[str, Any]]:
        """The per-item problems (unresolved recipients ...) the axis listed, if any."""
        found = self.body.get("problems")
        return [p for p in found if isinstance(p, dict)] if isinstance(found, list) else []

    @property
    def transient(self) -> bool:
        """Worth trying again later unchanged: no answer, rate limited, busy or failing server.
        Everything else (4xx) is about the request itself and will be refused again."""
        return self.code == NETWORK or self.status == 429 or self.status >= 500

    def to_dict(self) -> dict[str, Any]:
        """The problem as the axis wrote it (or the three facts when there was none)."""
        return dict(self.body) if self.body else {**super().to_dict(), "status": self.status}

    @classmethod
    def from_problem(cls, status: int, body: Any, where: str) -> AxisClientError:
        """The error of a non-2xx answer; a body that is no problem JSON (a proxy's HTML page)
        still gives a code (``http.<status>``) so callers never parse text."""
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            message = body.get("message") or body.get("detail") or body.get("title") or ""
            location = body.get("location")
            return cls(
                body["code"],
                str(message),
                location if isinstance(location, str) else None,
                status,
                body,
            )
        text = body if isinstance(body, str) else ""
        return cls(
            f"http.{status}", text[:200] or f"HTTP {status} without a problem body", where, status
        )
