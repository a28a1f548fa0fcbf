"""AgencyCode: both written forms, precise errors, level-1 body, level and the zeroing rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.codes import AgencyCode, AgencyCodeError, is_valid


@pytest.mark.parametrize(
    ("text", "level", "level1", "letter"),
    [
        ("000.00.00.H53", 1, "H53", "H"),
        ("000.00.01.H53", 2, "H53", "H"),
        ("000.01.01.H53", 3, "H53", "H"),
        ("001.05.13.H53", 4, "H53", "H"),
        ("000.00.00.G22", 1, "G22", "G"),
        ("000.00.18.G12", 2, "G12", "G"),
        ("000.46.24.H44", 3, "H44", "H"),
        ("000.00.00.K54", 1, "K54", "K"),
    ],
)
def test_strict_qcvn_codes_parse_with_their_structure(
    text: str, level: int, level1: str, letter: str
) -> None:
    code = AgencyCode.parse(text, strict=True)
    assert code.text == text
    assert code.is_qcvn
    assert code.level == level
    assert code.level1 == level1
    assert code.group_letter == letter
    assert str(code) == text


def test_parent_chain_follows_the_zeroing_rule() -> None:
    code = AgencyCode.parse("001.05.13.H53")
    chain = []
    current: AgencyCode | None = code
    while current is not None:
        chain.append(current.text)
        current = current.parent
    assert chain == ["001.05.13.H53", "000.05.13.H53", "000.00.13.H53", "000.00.00.H53"]


def test_parent_skips_a_zero_level_in_the_middle() -> None:
    # level 3 set under an unset level 2: the left-most non-zero group is zeroed
    assert AgencyCode.parse("000.46.00.H44").parent == AgencyCode("000.00.00.H44")
    assert AgencyCode.parse("000.46.24.H44").parent == AgencyCode("000.00.24.H44")


@pytest.mark.parametrize(
    "text", ["G22", "H53", "0100109106", "00.53.W00", "001.0.41.W00", "ABC.DEF.123.XYZ9"]
)
def test_general_form_accepts_dot_groups(text: str) -> None:
    code = AgencyCode.parse(text)
    assert code.text == text
    assert not code.is_qcvn


def test_business_number_has_no_group_letter() -> None:
    code = AgencyCode.parse("0100109106")
    assert code.group_letter == ""
    assert code.level == 1
    assert code.parent is None


@pytest.mark.parametrize(
    ("text", "strict", "error", "position"),
    [
        ("", False, "code.empty", None),
        ("A" * 36, False, "code.too_long", 35),
        ("000.00.00.h53", False, "code.lowercase", 10),
        ("000.00.00.H5 ", False, "code.bad_char", 12),
        ("000-00.00.H53", False, "code.bad_char", 3),
        ("000.00.00.Hà3", False, "code.bad_char", 11),
        ("000..00.H53", False, "code.empty_group", 4),
        (".000.00.H53", False, "code.empty_group", 0),
        ("000.00.00.H53.", False, "code.empty_group", 14),
        ("000.00.00.H5", True, "code.bad_length", 12),
        ("00.000.00.H53", True, "code.bad_group", 0),
        ("000.0A.00.H53", True, "code.bad_group", 5),
        ("000.00.00.153", True, "code.bad_level1", 10),
        ("000.00.00.HX3", True, "code.bad_level1", 11),
        ("0000.00.0.H53", True, "code.bad_group", 0),
    ],
)
def test_errors_have_a_stable_code_and_a_position(
    text: str, strict: bool, error: str, position: int | None
) -> None:
    with pytest.raises(AgencyCodeError) as caught:
        AgencyCode.parse(text, strict=strict)
    assert caught.value.code == error
    assert caught.value.position == position
    assert caught.value.message
    assert isinstance(caught.value, ValueError)


def test_lowercase_error_points_at_the_letter_and_is_valid_says_no() -> None:
    assert not is_valid("g22")
    assert is_valid("G22")
    assert not is_valid("G22", strict=True)


def test_codes_order_by_text() -> None:
    codes = sorted(AgencyCode(t) for t in ("H53", "G22", "H01"))
    assert [c.text for c in codes] == ["G22", "H01", "H53"]


_GROUP = st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=6)


@given(st.lists(_GROUP, min_size=1, max_size=5))
def test_any_well_formed_code_parses_and_its_parents_end_at_level_one(groups: list[str]) -> None:
    text = ".".join(groups)
    if len(text) > 35:
        with pytest.raises(AgencyCodeError):
            AgencyCode.parse(text)
        return
    code = AgencyCode.parse(text)
    steps = 0
    current = code
    while current.parent is not None:
        assert current.parent.level < current.level
        assert len(current.parent.text) == len(current.text)
        current = current.parent
        steps += 1
    assert current.level == 1
    # one step per non-zero group left of the level-1 body (zero groups are skipped)
    assert steps == sum(1 for g in groups[:-1] if g.strip("0"))


@given(
    st.integers(0, 999),
    st.integers(0, 99),
    st.integers(0, 99),
    st.sampled_from("GHKA"),
    st.integers(0, 99),
)
def test_every_qcvn_shaped_code_is_strict_valid(
    a: int, b: int, c: int, letter: str, n: int
) -> None:
    text = f"{a:03d}.{b:02d}.{c:02d}.{letter}{n:02d}"
    code = AgencyCode.parse(text, strict=True)
    assert code.is_qcvn
    assert code.level1 == f"{letter}{n:02d}"
    assert 1 <= code.level <= 4


def test_descends_from_follows_the_zeroing_rule_and_refuses_what_does_not_parse() -> None:
    from registry.codes import descends_from

    province = {"000.00.00.H38"}
    assert descends_from("000.00.00.H38", province)
    assert descends_from("001.05.13.H38", province)
    assert descends_from("000.00.01.H38", province)
    assert not descends_from("000.00.01.H53", province)
    assert not descends_from("000.00.00.h38", {"000.00.00.h38"})  # not a code: never granted
