"""Errors and problems of the edXML layer.

``EdxmlError`` stops parsing (the bytes are not a usable edXML package: hostile, malformed, the wrong
shape). ``Problem`` is one finding of :func:`edxml.validate` on a package that did parse. Both carry a
stable machine-readable ``code`` and a ``location`` (an XPath-like path of local names, or
``line:N``), because agency systems act on the code and people read the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class CodedError(Exception):
    """The one shape of every error the house raises on bad input or a refused request.

    Each package derives its own base from it (``EdxmlError``, ``signing.SigningError``,
    ``registry.RegistryError``, ``axis.errors.AxisError``), so the API's problem responses and the
    CLI print the same three facts from :meth:`to_dict`: a stable ``code`` that systems act on, a
    ``message`` people read, and a ``location`` (an element path, ``line:N``, a file, a field)
    or ``None`` where the error is about no place in particular.
    """

    def __init__(self, code: str, message: str, location: str | None = None) -> None:
        where = f" at {location}" if location else ""
        super().__init__(f"{code}{where}: {message}")
        self.code = code
        self.message = message
        self.location = location

    def to_dict(self) -> dict[str, Any]:
        """``{"code", "message", "location"}``: the facts the API and the CLI both print."""
        return {"code": self.code, "message": self.message, "location": self.location}


class Mode(StrEnum):
    """How strictly to judge a package.

    ``tolerant`` accepts what real producers send today (UUID document ids, SteeringType 0,
    ``yyyy-MM-dd`` dates, status 14 for 15, the ``Business`` spelling) and reports those as warnings;
    ``strict`` makes them errors. The axis accepts in tolerant mode and tells the sender what strict
    mode would refuse.
    """

    STRICT = "strict"
    TOLERANT = "tolerant"


class Severity(StrEnum):
    """How much a problem matters: ``error`` refuses the package, ``warning`` only reports."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation finding: stable code, human message, location in the document."""

    code: str
    message: str
    location: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        return f"{self.severity} {self.code} at {self.location}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The same facts as :meth:`CodedError.to_dict`, with the severity."""
        return {
            "code": self.code,
            "message": self.message,
            "location": self.location,
            "severity": str(self.severity),
        }


class EdxmlError(CodedError, ValueError):
    """The input cannot be read as an edXML package.

    ``code`` is stable (``xml.too_large``, ``xml.dtd_forbidden``, ``xml.malformed``,
    ``edxml.not_edxml`` ...); ``location`` says where (``line:12`` or an element path).
    """

    def __init__(
        self,
        code: str,
        message: str,
        location: str = "/",
        problems: tuple[Problem, ...] = (),
    ) -> None:
        super().__init__(code, message, location)
        self.location: str = location
        self.problems = problems or (Problem(code, message, location),)

    def as_problem(self) -> Problem:
        """The same finding in the shape :func:`edxml.validate` returns."""
        return Problem(self.code, self.message, self.location)
