"""Cleaning of unit names as published, so two spellings of one name become one string.

The statistics office's sheet spells one name several ways: NFC and NFD Unicode, the "new" tone-mark
placement ("Hoà", "Thuỵ", "Uý") beside the traditional one ("Hòa", "Thụy", "Úy") used by QĐ
19/2025, doubled or trailing spaces and line breaks inside cells, a typographic apostrophe
("B’Lao"), the type word in mixed case ("Thị Xã") and once without its diacritic ("Xa Ea Kly").
Stored names take ONE form (NFC, traditional placement, as QĐ 19/2025 writes them) so that an
import of the same list twice, or of two copies of it, compares equal; searching with other
spellings is the search index's job, not the stored name's.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

_TONES: Final = frozenset("\u0300\u0301\u0303\u0309\u0323")
"""The five combining tone marks (huyền, sắc, ngã, hỏi, nặng)."""

# A syllable ending in oa / oe / uy (no final consonant) with the tone on the second vowel; the
# traditional placement puts it on the first. "qu" is a consonant, so "Quý" is left alone.
_WORD: Final = re.compile(r"[^\W\d_]+")
_PAIRS: Final = {("o", "a"), ("o", "e"), ("u", "y")}

_SPACES: Final = re.compile(r"\s+")
_APOSTROPHES: Final = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})

TYPE_WORDS: Final = (
    "Thành phố",
    "Thị trấn",
    "Thị xã",
    "Đặc khu",
    "Phường",
    "Huyện",
    "Quận",
    "Tỉnh",
    "Xã",
)
"""Unit-type words that open a unit's name, in the case QĐ 19/2025 writes them."""

_TYPE_PREFIX: Final = re.compile(
    r"^(" + "|".join(re.escape(w) for w in (*TYPE_WORDS, "Xa")) + r")(?= )",
    re.IGNORECASE,
)
_CANONICAL_TYPE: Final = {w.casefold(): w for w in TYPE_WORDS} | {"xa": "Xã"}


def _split_tone(char: str) -> tuple[str, str]:
    """``char`` without its tone mark, and the mark ('' when untoned); other marks stay."""
    decomposed = unicodedata.normalize("NFD", char)
    tone = "".join(c for c in decomposed if c in _TONES)
    base = "".join(c for c in decomposed if c not in _TONES)
    return unicodedata.normalize("NFC", base), tone


def _traditional(match: re.Match[str]) -> str:
    word = match.group(0)
    if len(word) < 2:
        return word
    first, (bare, tone) = word[-2], _split_tone(word[-1])
    if not tone or (first.lower(), bare.lower()) not in _PAIRS:
        return word
    if len(word) >= 3 and word[-3] in "qQ":
        return word
    return word[:-2] + unicodedata.normalize("NFC", first + tone) + bare


def place_tones(text: str) -> str:
    """``text`` (NFC) with oa/oe/uy tone marks in the traditional place: "Hoà" -> "Hòa"."""
    return _WORD.sub(_traditional, text)


def clean_name(raw: str) -> str:
    """The one stored form of a published name (see the module docstring for what is fixed)."""
    text = unicodedata.normalize("NFC", raw).translate(_APOSTROPHES)
    text = _SPACES.sub(" ", text).strip()
    text = place_tones(text)
    return _TYPE_PREFIX.sub(lambda m: _CANONICAL_TYPE[m.group(1).casefold()], text, count=1)
