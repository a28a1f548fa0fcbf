"""The broker's errors: one base carrying code, message, location and the HTTP status.

Every refusal the API gives is an :class:`AxisError` (or another package's ``CodedError``,
which the error middleware maps to a status by its code); the problem body (RFC 9457 style)
and the CLI's error line are both built from :meth:`edxml.CodedError.to_dict`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from edxml import CodedError


class AxisError(CodedError):
    """A request the broker refuses; ``status`` is the HTTP status it answers with."""

    def __init__(
        self,
        code: str,
        message: str,
        location: str | None = None,
        *,
        status: int = 400,
        extra: Mapping[str, Any] | None = None,
        problems: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        super().__init__(code, message, location)
        self.status = status
        self.extra = dict(extra or {})
        self.problems = list(problems)

    def to_dict(self) -> dict[str, Any]:
        body = super().to_dict()
        if self.problems:
            body["problems"] = self.problems
        body.update(self.extra)
        return body


class AuthError(AxisError):
    """Who the caller is could not be established (401) or it may not do this (403)."""


class NotFoundError(AxisError):
    """Nothing the caller may see has this id (404; also for another system's message)."""

    def __init__(self, code: str, message: str, location: str | None = None) -> None:
        super().__init__(code, message, location, status=404)
