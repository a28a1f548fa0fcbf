"""Search by name with Vietnamese normalisation: Unicode form, tone placement, case, diacritics."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.model import CUTOVER_2025, Agency, vn_midnight
from registry.registry import Registry
from registry.text import fold_exact, fold_plain, has_diacritics, same_name


@pytest.fixture(scope="module")
def reg() -> Registry:
    return Registry.build(
        [
            Agency("H30", "UBND tỉnh Hòa Bình", short_name="Hòa Bình", valid_until=CUTOVER_2025),
            Agency("K30", "HĐND tỉnh Hoà Bình", valid_until=CUTOVER_2025),
            Agency("H56", "UBND tỉnh Thanh Hóa", short_name="Thanh Hóa"),
            Agency("H15", "UBND thành phố Đà Nẵng", short_name="Đà Nẵng"),
            Agency("H02", "UBND tỉnh Bà Rịa–Vũng Tàu", valid_until=CUTOVER_2025),
            Agency("XA-1", "Xã Hòa Bình Xuân", kind="admin_unit", valid_from=CUTOVER_2025),
            Agency("G10", "Bộ Nông nghiệp và Môi trường"),
        ],
        author="t",
        reason="t",
    )


def test_tone_placement_unicode_form_and_case_fold_to_one_key() -> None:
    assert same_name("Hoà", "Hòa")
    assert same_name("Hòa Bình", unicodedata.normalize("NFD", "HOÀ BÌNH"))
    assert same_name("Thủy", "Thuỷ")
    assert same_name("Bà Rịa–Vũng Tàu", "Bà Rịa - Vũng Tàu")
    assert not same_name("Hòa", "Hóa")
    assert not same_name("Hòa", "Hoa")


def test_plain_key_drops_every_diacritic_including_d_bar() -> None:
    assert fold_plain("Đà Nẵng") == "da nang"
    assert fold_plain("Hoà Bình") == fold_plain("hoa binh") == "hoa binh"
    assert fold_plain("Bà Rịa–Vũng Tàu") == "ba ria vung tau"
    assert has_diacritics("Đa")
    assert not has_diacritics("hoa binh")


def test_search_without_diacritics_finds_names_with_them(reg: Registry) -> None:
    codes = [a.code for a in reg.search("hoa binh")]
    assert codes[:2] == ["H30", "K30"]
    assert "XA-1" in codes
    assert "H56" not in codes


def test_search_with_either_tone_placement_finds_both_spellings(reg: Registry) -> None:
    assert {a.code for a in reg.search("Hoà Bình")} == {"H30", "K30", "XA-1"}
    assert {a.code for a in reg.search("Hòa Bình")} == {"H30", "K30", "XA-1"}
    assert {a.code for a in reg.search(unicodedata.normalize("NFD", "hòa bình"))} == {
        "H30",
        "K30",
        "XA-1",
    }


def test_search_with_diacritics_is_precise(reg: Registry) -> None:
    assert [a.code for a in reg.search("Thanh Hòa")] == []
    assert [a.code for a in reg.search("thanh hoa")] == ["H56"]
    assert [a.code for a in reg.search("Thanh Hóa")] == ["H56"]


def test_search_ranks_exact_short_names_first_and_matches_codes(reg: Registry) -> None:
    assert reg.search("đà nẵng")[0].code == "H15"
    assert reg.search("da nang")[0].code == "H15"
    assert [a.code for a in reg.search("g10")] == ["G10"]
    assert [a.code for a in reg.search("vung tau")] == ["H02"]


def test_search_matches_at_word_starts_only(reg: Registry) -> None:
    assert reg.search("oa binh") == []
    assert [a.code for a in reg.search("nong nghiep")] == ["G10"]


def test_search_at_an_instant_keeps_records_in_force(reg: Registry) -> None:
    after = {a.code for a in reg.search("hoa binh", at=vn_midnight(date(2025, 7, 2)))}
    assert after == {"XA-1"}
    before = {a.code for a in reg.search("hoa binh", at=vn_midnight(date(2025, 6, 30)))}
    assert before == {"H30", "K30"}


def test_search_limit_and_empty_query(reg: Registry) -> None:
    assert len(reg.search("ubnd", limit=2)) == 2
    assert reg.search("   ") == []


_VIET = st.text(
    alphabet="aăâeêioôơuưyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵđ ",
    max_size=20,
)


@given(_VIET)
def test_fold_keys_are_stable_under_unicode_form_and_case(text: str) -> None:
    nfd = unicodedata.normalize("NFD", text)
    assert fold_exact(text) == fold_exact(nfd) == fold_exact(text.upper())
    assert fold_plain(text) == fold_plain(nfd) == fold_plain(text.upper())
    assert fold_plain(text).isascii()
