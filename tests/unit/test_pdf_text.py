"""The verbatim fast path of reference and SIRET matching answers as the tolerant patterns do."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.preflight.text import SearchableText, normalise_text

# Letters, digits (ASCII, Arabic-Indic, superscript), separators the patterns care about.
ALPHABET = "aAbF0123456789-_ /.é٣²\u00a0"


def _reference_pattern(reference: str) -> str:
    compact = normalise_text(reference).replace(" ", "")
    return rf"(?<![^\W_]){' ?'.join(re.escape(ch) for ch in compact)}(?![^\W_])"


def _siret_pattern(siret: str) -> str:
    digits = "".join(ch for ch in siret if ch.isdigit())
    return rf"(?<!\d){'(?:[ .-] ?)?'.join(re.escape(ch) for ch in digits)}(?!\d)"


@settings(max_examples=400, deadline=None)
@given(
    st.text(ALPHABET, max_size=30),
    st.text(ALPHABET, min_size=1, max_size=6),
    st.text(ALPHABET, max_size=30),
)
def test_reference_matching_agrees_with_the_pattern(before: str, value: str, after: str) -> None:
    text = SearchableText(before + value + after)
    if not normalise_text(value).replace(" ", ""):
        assert not text.has_reference(value)
        return
    expected = re.search(_reference_pattern(value), text.text) is not None
    assert text.has_reference(value) == expected


@settings(max_examples=400, deadline=None)
@given(
    st.text(ALPHABET, max_size=30),
    st.text("0123456789٣²", min_size=1, max_size=6),
    st.text(ALPHABET, max_size=30),
)
def test_siret_matching_agrees_with_the_pattern(before: str, digits: str, after: str) -> None:
    text = SearchableText(before + digits + after)
    expected = re.search(_siret_pattern(digits), text.text) is not None
    assert text.has_siret(digits) == expected


AMOUNT_ALPHABET = "0123456789 .,€eurTC:-\u00a0\u202f٣"


@settings(max_examples=600, deadline=None)
@given(
    st.text(AMOUNT_ALPHABET, max_size=20),
    st.integers(min_value=0, max_value=12_345_678_90),
    st.sampled_from([" ", ".", "\u00a0", "\u202f", ""]),
    st.sampled_from([",", ".", " , "]),
    st.text(AMOUNT_ALPHABET, max_size=20),
)
def test_amount_fast_path_agrees_with_the_full_scan(
    before: str, cents: int, group: str, point: str, after: str
) -> None:
    units, rest = divmod(cents, 100)
    printed = f"{units:,}".replace(",", group) + f"{point}{rest:02d}"
    text = SearchableText(before + printed + after)
    assert text.has_amount(cents) == (cents in text.amounts)
