"""Agency identifier codes (mã định danh): parsing, validation and the structure inside a code.

Two written forms exist and both are in use, so both are accepted:

* the strict QCVN 102:2016 form ``AAA.BB.CC.Lnn`` (13 characters, read right to left: ``Lnn`` is
  the level-1 body, ``CC`` level 2, ``BB`` level 3, ``AAA`` level 4; unused levels are zeros);
* the general QĐ 20/2020/QĐ-TTg form: dot-separated groups of ``[0-9A-Z]``, at most 35 characters,
  upper case only (enterprises use their registration number, a single group).

Errors carry a stable ``code`` string and the 0-based ``position`` of the offending character, so
an operator (or a form in a UI) can point at the exact place that is wrong.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from registry.errors import RegistryError

MAX_LENGTH: Final = 35
"""QĐ 20/2020: a code is at most 35 characters."""

QCVN_LENGTH: Final = 13
"""QCVN 102:2016: ``AAA.BB.CC.Lnn`` is exactly 13 characters."""

GROUP_LETTERS: Final[dict[str, str]] = {
    "G": "central government bloc (ministries, government bodies)",
    "H": "provincial People's Committee (UBND)",
    "K": "provincial People's Council (HĐND)",
    "A": "Party bloc",
    "B": "State President's office (inferred)",
    "C": "National Assembly (inferred)",
    "D": "People's Courts (inferred)",
    "E": "People's Procuracies (inferred)",
    "F": "State Audit (inferred)",
    "W": "system / test units on the axis (not an agency group)",
}
"""What the level-1 letter means (AGENCY_CODES.md §4.2; B-F and W are low-confidence)."""

_ALLOWED: Final = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.")
_DIGITS: Final = frozenset("0123456789")
_UPPER: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# strict QCVN: the width of each of the four groups, left to right
_QCVN_WIDTHS: Final = (3, 2, 2, 3)


class AgencyCodeError(RegistryError, ValueError):
    """A code that is not a valid agency identifier.

    ``code`` is stable and machine-readable (``code.empty``, ``code.too_long``, ``code.bad_char``,
    ``code.lowercase``, ``code.empty_group``, ``code.bad_group``, ``code.bad_level1``,
    ``code.bad_length``); ``position`` is the 0-based index of the first offending character, or
    ``None`` where the whole code is at fault.
    """

    def __init__(self, code: str, message: str, position: int | None = None) -> None:
        super().__init__(code, message, None if position is None else f"position {position}")
        self.position = position


def _is_zero(group: str) -> bool:
    return group.strip("0") == ""


@dataclass(frozen=True, slots=True, order=True)
class AgencyCode:
    """One validated agency code; ``text`` is exactly as written (upper case, dot-separated)."""

    text: str

    @classmethod
    def parse(cls, text: str, *, strict: bool = False) -> AgencyCode:
        """Validates ``text``; ``strict`` demands the QCVN 102 13-character form.

        Surrounding whitespace is an error, not silently stripped: a code copied with a stray space
        would otherwise be stored under two spellings.
        """
        if not text:
            raise AgencyCodeError("code.empty", "the code is empty", None)
        if len(text) > MAX_LENGTH:
            raise AgencyCodeError(
                "code.too_long", f"{len(text)} characters, at most {MAX_LENGTH}", MAX_LENGTH
            )
        for index, char in enumerate(text):
            if char in _ALLOWED:
                continue
            if char.isalpha() and char.upper() in _UPPER:
                raise AgencyCodeError(
                    "code.lowercase", f"lower-case {char!r}: codes are upper case", index
                )
            raise AgencyCodeError("code.bad_char", f"{char!r} is not one of [0-9A-Z.]", index)
        start = 0
        for group in text.split("."):
            if not group:
                raise AgencyCodeError("code.empty_group", "two dots or a dot at an end", start)
            start += len(group) + 1
        if strict:
            _check_qcvn(text)
        return cls(text)

    @property
    def groups(self) -> tuple[str, ...]:
        """The dot-separated groups, left to right as written."""
        return tuple(self.text.split("."))

    @property
    def is_qcvn(self) -> bool:
        """Whether the code has the strict QCVN 102 shape ``AAA.BB.CC.Lnn``."""
        try:
            _check_qcvn(self.text)
        except AgencyCodeError:
            return False
        return True

    @property
    def level1(self) -> str:
        """The level-1 body: the right-most group (``H53`` of ``000.00.01.H53``)."""
        return self.text.rpartition(".")[2]

    @property
    def group_letter(self) -> str:
        """The bloc letter of the level-1 body (``G``, ``H``, ``K``, ``A`` ...), ``""`` if none."""
        first = self.level1[0]
        return first if first in _UPPER else ""

    @property
    def level(self) -> int:
        """The deepest non-zero level: 1 for ``000.00.00.H53`` .. 4 for ``001.05.13.H53``.

        Groups are read right to left, so the level is the count of groups from the left-most
        non-zero one to the right end.
        """
        groups = self.groups
        for index, group in enumerate(groups):
            if not _is_zero(group):
                return len(groups) - index
        return 1

    @property
    def parent(self) -> AgencyCode | None:
        """The parent by the zeroing rule (left-most non-zero group -> zeros); None at level 1."""
        groups = list(self.groups)
        for index, group in enumerate(groups[:-1]):
            if not _is_zero(group):
                groups[index] = "0" * len(group)
                return AgencyCode(".".join(groups))
        return None

    def __str__(self) -> str:
        return self.text


def _check_qcvn(text: str) -> None:
    """Raises the precise error for the first place where ``text`` leaves ``AAA.BB.CC.Lnn``."""
    if len(text) != QCVN_LENGTH:
        raise AgencyCodeError(
            "code.bad_length",
            f"{len(text)} characters; the QCVN 102 form AAA.BB.CC.Lnn has {QCVN_LENGTH}",
            min(len(text), QCVN_LENGTH),
        )
    groups = text.split(".")
    if len(groups) != len(_QCVN_WIDTHS):
        raise AgencyCodeError("code.bad_group", "QCVN 102 codes have four groups", None)
    start = 0
    for index, (group, width) in enumerate(zip(groups, _QCVN_WIDTHS, strict=True)):
        if len(group) != width:
            raise AgencyCodeError(
                "code.bad_group", f"group {index + 1} must be {width} characters", start
            )
        if index < len(_QCVN_WIDTHS) - 1:
            for offset, char in enumerate(group):
                if char not in _DIGITS:
                    raise AgencyCodeError(
                        "code.bad_group", f"level groups are digits, not {char!r}", start + offset
                    )
        else:
            if group[0] not in _UPPER:
                raise AgencyCodeError(
                    "code.bad_level1", "the level-1 body starts with a letter", start
                )
            for offset, char in enumerate(group[1:], start=1):
                if char not in _DIGITS:
                    raise AgencyCodeError(
                        "code.bad_level1",
                        f"the level-1 body is a letter and two digits, not {char!r}",
                        start + offset,
                    )
        start += width + 1


def is_valid(text: str, *, strict: bool = False) -> bool:
    """Whether :meth:`AgencyCode.parse` accepts ``text`` (for filters; no error detail)."""
    try:
        AgencyCode.parse(text, strict=strict)
    except AgencyCodeError:
        return False
    return True


def descends_from(code: str, ancestors: Collection[str]) -> bool:
    """Whether ``code`` is one of ``ancestors`` or under one of them by the zeroing rule
    (``001.05.13.H38`` is under ``000.00.00.H38``). A code that does not parse descends from
    nothing (False, not an error): whoever asks is authorising, not validating."""
    try:
        current: AgencyCode | None = AgencyCode.parse(code)
    except AgencyCodeError:
        return False
    while current is not None:
        if current.text in ancestors:
            return True
        current = current.parent
    return False
