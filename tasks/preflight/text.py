"""Finding an invoice's references and amounts in text extracted from its PDF.

pypdf's extraction varies with the generator: spaces may be non-breaking, narrow or doubled, a
hyphen may come out as a Unicode dash, a value may be split by a stray space. The preflight must
not refuse an invoice for that, so matching works on normalised text and tolerates those quirks,
while still telling `FC0142-24` from `FC0142-245` and `234,56` from `1 234,56`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

_DASHES = re.compile("[\u2010-\u2015\u2212\ufe63\uff0d]")
_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]")
_WHITESPACE = re.compile(r"\s+")

# An amount as French invoices print it: thousands grouped by a space or a dot (or not at all),
# a decimal comma or point, two decimals; or a whole amount immediately followed by its currency.
# The look-behind keeps a match from starting inside a longer number.
_AMOUNT = re.compile(
    r"(?<![\d.,])(?P<int>\d{1,3}(?:[ .]\d{3})+|\d+)"
    r"(?:(?: ?[,.] ?(?P<dec>\d{2})(?![\d])(?![.,]\d))|(?= ?(?:€|eur\b)))"
)


def plain_characters(raw: str) -> str:
    """Compatibility forms (non-breaking and narrow spaces become spaces), plain dashes, no
    invisible characters: what a PDF's text extraction spells many ways, spelt one way."""
    return _INVISIBLE.sub("", _DASHES.sub("-", unicodedata.normalize("NFKC", raw)))


def normalise_text(raw: str) -> str:
    """One canonical spelling for matching: plain characters, single spaces, casefold."""
    return _WHITESPACE.sub(" ", plain_characters(raw)).strip().casefold()


def _loose_pattern(chars: str, gap: str) -> str:
    return gap.join(re.escape(ch) for ch in chars)


def _stands_alone(text: str, value: str, glued: Callable[[str], bool]) -> bool:
    """True when `value` occurs verbatim in `text` with no `glued` character at either end.

    The usual case, checked before the tolerant regular expression: each value makes its own
    pattern, and compiling it cost more than the rest of the text checks together.
    """
    start = text.find(value)
    while start != -1:
        end = start + len(value)
        if (start == 0 or not glued(text[start - 1])) and (
            end == len(text) or not glued(text[end])
        ):
            return True
        start = text.find(value, start + 1)
    return False


class SearchableText:
    """Extracted text, normalised once, asked for several values."""

    def __init__(self, raw: str) -> None:
        self.text = normalise_text(raw)
        self._amounts: set[int] | None = None

    def has_reference(self, reference: str) -> bool:
        """True when `reference` (invoice number, engagement, service code) stands on its own.

        A stray space inside the value is tolerated (extraction splits runs of glyphs); a letter or
        digit glued to either end is not, since that makes another reference.
        """
        compact = normalise_text(reference).replace(" ", "")
        if not compact:
            return False
        # `[^\W_]` is what `str.isalnum` accepts: a verbatim match is a match of the pattern.
        if _stands_alone(self.text, compact, str.isalnum):
            return True
        pattern = rf"(?<![^\W_]){_loose_pattern(compact, ' ?')}(?![^\W_])"
        return re.search(pattern, self.text) is not None

    def has_siret(self, siret: str) -> bool:
        """True when the 14 digits appear as one number, grouped or not ("218 300 010 00015")."""
        digits = "".join(ch for ch in siret if ch.isdigit())
        if not digits:
            return False
        # `\d` is what `str.isdecimal` accepts: a verbatim match is a match of the pattern.
        if _stands_alone(self.text, digits, str.isdecimal):
            return True
        pattern = rf"(?<!\d){_loose_pattern(digits, '(?:[ .-] ?)?')}(?!\d)"
        return re.search(pattern, self.text) is not None

    @property
    def amounts(self) -> set[int]:
        """Every amount in the text, in cents, whatever its French or international spelling."""
        if self._amounts is None:
            self._amounts = {
                int(match["int"].replace(" ", "").replace(".", "")) * 100 + int(match["dec"] or 0)
                for match in _AMOUNT.finditer(self.text)
            }
        return self._amounts

    def has_amount(self, cents: int) -> bool:
        """True when the amount appears (1 234,56 / 1234.56 / 1.234,56 / 1 234 € …)."""
        if any(_amount_stands_alone(self.text, form) for form in _decimal_spellings(abs(cents))):
            return True
        return abs(cents) in self.amounts


_SEPARATORS = frozenset(".,")


def _decimal_spellings(cents: int) -> set[str]:
    """The usual ways to print an amount with its two decimals, as normalised text has them."""
    units, rest = divmod(cents, 100)
    groups = [f"{units:,}".replace(",", sep) for sep in (" ", ".")] if units >= 1000 else []
    return {f"{whole}{point}{rest:02d}" for whole in (str(units), *groups) for point in ",."}


def _amount_stands_alone(text: str, spelling: str) -> bool:
    """True only where `_AMOUNT` would read exactly this amount at this place: the usual case,
    found without scanning every number of the text; anything less clear-cut is left to it.

    Nothing before may join the number (a digit, a separator, or a space after either: the
    grouping or decimal part of an earlier number), nothing after may extend its decimals.
    """
    start = text.find(spelling)
    while start != -1:
        end = start + len(spelling)
        before = text[start - 1] if start > 0 else ""
        joins_before = before.isdecimal() or before in _SEPARATORS
        if before == " " and start > 1:
            joins_before = text[start - 2].isdecimal() or text[start - 2] in _SEPARATORS
        after = text[end] if end < len(text) else ""
        extends_after = after.isdecimal() or (
            after in _SEPARATORS and end + 1 < len(text) and text[end + 1].isdecimal()
        )
        if not joins_before and not extends_after:
            return True
        start = text.find(spelling, start + 1)
    return False
