"""Amounts as people read them and as the export spells them, from the same integer cents."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chorus_etl.french import NBSP, format_euros, plain_amount


@pytest.mark.parametrize(
    ("cents", "plain", "french"),
    [
        (0, "0.00", f"0,00{NBSP}€"),
        (5, "0.05", f"0,05{NBSP}€"),
        (123456, "1234.56", f"1{NBSP}234,56{NBSP}€"),
        (-1230, "-12.30", f"-12,30{NBSP}€"),
        (-5, "-0.05", f"-0,05{NBSP}€"),
    ],
)
def test_both_spellings(cents: int, plain: str, french: str) -> None:
    assert plain_amount(cents) == plain
    assert format_euros(cents) == french


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_the_plain_spelling_is_exact_where_a_float_would_not_be(cents: int) -> None:
    assert Decimal(plain_amount(cents)) * 100 == cents
