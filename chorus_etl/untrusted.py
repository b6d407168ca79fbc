"""Text from outside (an export's cells, Chorus Pro's comments) made harmless where it is written.

Three places read text as more than text: a spreadsheet runs a cell that starts with `=` as a
formula (OWASP's "CSV injection"), a terminal obeys escape sequences (clear the screen, a hidden
hyperlink), and a mail header ends at a line break, which Python's e-mail package refuses outright.
The ingest refuses control characters in the cells it stores (`tasks.ingest.cells`), but text also
comes from Chorus Pro and from rows stored before that rule, so every writer of a CSV, of a terminal
line or of a mail header goes through here. The character classes are defined once, here, for the
ingest as well.
"""

from __future__ import annotations

import re

__all__ = [
    "CONTROL_CHARACTERS",
    "FORMULA_TRIGGERS",
    "LINE_BREAKS",
    "printable",
    "spreadsheet_cell",
]

#: C0 and C1 control characters and DEL, but tab, line feed and carriage return: what no text
#: the pipeline stores may hold (PostgreSQL refuses NUL, a terminal obeys ESC).
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: A run of line breaks and tabs, with the spaces around them: one space in a one-line text.
LINE_BREAKS = re.compile("[ \t\r\n]*[\t\r\n][ \t\r\n]*")
#: ECMA-48 escape sequences, whole, so that no leftover of one ("[2J") reaches the reader: CSI
#: (colours, cursor, clear screen), the strings of OSC (hyperlinks, window title), DCS, SOS, PM
#: and APC up to their terminator (or the end), in their 7-bit and 8-bit forms, and the other
#: two- or three-character escapes.
_ESCAPE_SEQUENCES = re.compile(
    r"""
      (?:\x1b\[|\x9b) [0-?]* [ -/]* [@-~]
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]) .*? (?:\x07|\x1b\\|\x9c|\Z)
    | \x1b [ -/]* [0-~]?
    """,
    re.VERBOSE | re.DOTALL,
)
#: What makes a spreadsheet read a cell as a formula (OWASP): =, +, -, @, tab, carriage return.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: A plain number as the project writes them ("-12.50", "1 234,56"): safe in a numeric column.
_NUMBER = re.compile(r"[+-]?\d[\d \u00a0\u202f]*(?:[.,]\d+)?")


def printable(text: str, *, multiline: bool = False) -> str:
    """`text` for a terminal or a mail header: escape sequences and control characters removed,
    line breaks and tabs made one space; with `multiline` (where the layout has room for several
    lines), line breaks are kept as newlines."""
    text = _ESCAPE_SEQUENCES.sub("", text)
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    else:
        text = LINE_BREAKS.sub(" ", text)
    return CONTROL_CHARACTERS.sub("", text)


def spreadsheet_cell(value: object, *, numeric: bool = False) -> object:
    """A CSV cell a spreadsheet shows as written: text starting with a formula trigger gets a
    leading `'` (OWASP), which spreadsheets read as "this is text" and do not display.

    Numbers (`int`, `Decimal`…) are written as they are; so is the text of a `numeric` column
    that is a plain number, so that a credit note's "-12.50" stays a number to sum. Anything
    else in a numeric column is text like any other. Escape sequences and control characters,
    which no spreadsheet shows and a terminal obeys (a CSV is often printed to one first), are
    removed; line breaks stay, a quoted cell holds several lines.
    """
    if not isinstance(value, str):
        return value
    if not value.startswith(FORMULA_TRIGGERS):
        return printable(value, multiline=True)
    if numeric and _NUMBER.fullmatch(value):
        return value
    return "'" + printable(value, multiline=True)
