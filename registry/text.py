"""Vietnamese text normalisation for comparing and searching names.

The same name arrives in many spellings: NFC or NFD, the old or new tone-mark placement ("Hoà" and
"Hòa"), any case, and often typed without diacritics ("hoa binh"). Two keys cover this:

* :func:`fold_exact` keeps every diacritic but puts each word's tone mark in one canonical place
  (after the word's letters), so "Hoà" == "Hòa" while "Hòa" != "Hóa";
* :func:`fold_plain` drops all diacritics (and maps đ to d), so "hoa binh" finds "Hòa Bình".

A query with diacritics is compared on exact keys (the user was precise); one without on plain keys.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from typing import Final

TONE_MARKS: Final = frozenset("\u0300\u0301\u0303\u0309\u0323")
"""The five Vietnamese tone marks as combining characters: huyền, sắc, ngã, hỏi, nặng."""

_SEPARATORS: Final = frozenset(" \t\r\n-–—_,.;:/()[]\"'")


def _words(text: str) -> list[str]:
    """Splits on spaces and punctuation so "Bà Rịa–Vũng Tàu" and "Bà Rịa - Vũng Tàu" agree."""
    out: list[str] = []
    current: list[str] = []
    for char in text:
        if char in _SEPARATORS:
            if current:
                out.append("".join(current))
                current = []
        else:
            current.append(char)
    if current:
        out.append("".join(current))
    return out


def _canonical_word(word: str) -> str:
    decomposed = unicodedata.normalize("NFD", word)
    tones = [c for c in decomposed if c in TONE_MARKS]
    if not tones:
        return decomposed
    bare = "".join(c for c in decomposed if c not in TONE_MARKS)
    return bare + "".join(tones)


@lru_cache(maxsize=65536)
def fold_exact(text: str) -> str:
    """Case-folded, punctuation-insensitive, tone placement made canonical; diacritics kept."""
    folded = unicodedata.normalize("NFC", text).casefold()
    return " ".join(_canonical_word(w) for w in _words(folded))


@lru_cache(maxsize=65536)
def fold_plain(text: str) -> str:
    """Case-folded, punctuation-insensitive, without any diacritic (đ -> d)."""
    folded = unicodedata.normalize("NFD", text).casefold().replace("đ", "d")
    bare = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(_words(bare))


def has_diacritics(text: str) -> bool:
    """Whether ``text`` carries any Vietnamese diacritic (including đ)."""
    decomposed = unicodedata.normalize("NFD", text)
    return any(unicodedata.combining(c) for c in decomposed) or "đ" in decomposed.casefold()


def same_name(a: str, b: str) -> bool:
    """Whether two names are the same up to Unicode form, tone placement, case and punctuation."""
    return fold_exact(a) == fold_exact(b)
