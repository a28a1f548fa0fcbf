"""Every word the console shows, in Vietnamese (the default) and English: one catalogue.

Templates never hold prose; they ask ``t("key")``. A key missing in one language is an error
(``KeyError``), and ``tests/test_console_http.py`` checks that every key a template uses exists
in both, so a page cannot silently fall back to the other language. Domain names (business
status codes 01..16 of QCVN 102, delivery states, audit event kinds) have their own tables.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from axis.console import words_en, words_vi

DEFAULT: Final = "vi"
LANGUAGES: Final = {"vi": "Tiếng Việt", "en": "English"}

LABELS: Final[Mapping[str, Mapping[str, str]]] = {"vi": words_vi.LABELS, "en": words_en.LABELS}
STATUS_NAMES: Final[Mapping[str, Mapping[str, str]]] = {
    "vi": words_vi.STATUS_NAMES,
    "en": words_en.STATUS_NAMES,
}
"""The edXML business status codes (QCVN 102:2016, status packages) in words."""
STATE_NAMES: Final[Mapping[str, Mapping[str, str]]] = {
    "vi": words_vi.STATE_NAMES,
    "en": words_en.STATE_NAMES,
}
EVENT_NAMES: Final[Mapping[str, Mapping[str, str]]] = {
    "vi": words_vi.EVENT_NAMES,
    "en": words_en.EVENT_NAMES,
}


def pick(requested: str | None) -> str:
    """The language to speak: the one asked for when the console has it, else Vietnamese."""
    return requested if requested in LANGUAGES else DEFAULT


def translator(lang: str) -> Callable[[str], str]:
    """``t(key)`` for a template; an unknown key raises ``KeyError`` (a bug, never a fallback)."""
    table = LABELS[pick(lang)]

    def t(key: str) -> str:
        return table[key]

    return t


def has(lang: str) -> Callable[[str], bool]:
    """Whether the catalogue has ``key`` (error pages translate the problem codes it knows)."""
    table = LABELS[pick(lang)]
    return table.__contains__


def _named(tables: Mapping[str, Mapping[str, str]], lang: str) -> Callable[[str | None], str]:
    table = tables[pick(lang)]

    def name(code: str | None) -> str:
        if code is None:
            return ""
        return table.get(code, code)

    return name


def status_name(lang: str) -> Callable[[str | None], str]:
    """``01`` -> ``Đã đến`` (an unknown code is shown as it is)."""
    return _named(STATUS_NAMES, lang)


def state_name(lang: str) -> Callable[[str | None], str]:
    """A delivery state in words."""
    return _named(STATE_NAMES, lang)


def event_name(lang: str) -> Callable[[str | None], str]:
    """An audit event kind in words."""
    return _named(EVENT_NAMES, lang)
