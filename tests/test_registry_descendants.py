"""The descendant index answers exactly what descends_from answers, code by code, over the
whole seed registry (with the units added under a province as the zeroing rule places them)."""

from __future__ import annotations

import pytest

from registry.codes import descends_from
from registry.descendants import Descendants
from registry.seed import load_seed

UNDER_H38 = ("001.00.00.H38", "001.05.00.H38", "001.05.13.H38", "000.05.00.H38")


@pytest.fixture(scope="module")
def codes() -> list[str]:
    return [agency.code for agency in load_seed().agencies()] + [*UNDER_H38, "not a code"]


@pytest.mark.parametrize(
    "roots",
    [
        {"000.00.00.H38"},
        {"000.05.00.H38"},
        {"000.00.00.H38", "000.00.00.G09"},
        {"001.05.13.H38"},
        {"000.00.00.Z99"},  # a code the registry does not hold
        {"not a code"},
        set(),
    ],
)
def test_the_index_agrees_with_descends_from(codes: list[str], roots: set[str]) -> None:
    expected = {code for code in codes if descends_from(code, roots)}
    assert Descendants(codes).of(roots) == expected


def test_a_province_grant_reaches_its_units_and_no_other_province(codes: list[str]) -> None:
    found = Descendants(codes).of({"000.00.00.H38"})
    assert set(UNDER_H38) | {"000.00.00.H38"} <= found
    assert not [code for code in found if not code.endswith(".H38")]
