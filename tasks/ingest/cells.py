"""The cells an export may not hand on as they are: control characters, line breaks in a one-line
column, cells too long to be anything but a broken or hostile file.

The reader runs every column through `clean_column` before anything else sees its cells (invoice
keys, source hashes, validation, the warehouse), so that one bad cell costs its own invoice only:

- a NUL byte (which PostgreSQL refuses in text: one used to fail the whole ingest) or any other
  control character is replaced by U+FFFD and refuses its row (`text.control_characters`);
- a line break or tab in a one-line column (a buyer's name on two lines of a spreadsheet cell)
  becomes one space, with a warning (`text.line_break`): the invoice stays ready, and no mail
  header or terminal line gets the break;
- a cell over its column's limit (`schemas.export.Column.max_length`) is cut there and refuses its
  row (`field.too_long`).

Findings are kept by file line, and validation gives them to the invoice of that line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from chorus_etl.untrusted import CONTROL_CHARACTERS, LINE_BREAKS
from schemas.export import Column
from schemas.issues import Reason

#: What a one-line cell must not hold, and a multi-line one.
_ONE_LINE_SUSPECT = re.compile(f"{CONTROL_CHARACTERS.pattern}|[\t\r\n]")
_REPLACEMENT = "\ufffd"
_VALUE_SHOWN = 200


@dataclass
class LineFindings:
    """What the cleaning found, by file line: `reasons` refuse the line's invoice, `warnings` are
    told to the entrepreneur and refuse nothing."""

    reasons: dict[int, list[Reason]] = field(default_factory=dict)
    warnings: dict[int, list[Reason]] = field(default_factory=dict)

    def refuse(self, line: int, reason: Reason) -> None:
        self.reasons.setdefault(line, []).append(reason)

    def warn(self, line: int, reason: Reason) -> None:
        self.warnings.setdefault(line, []).append(reason)


def clean_column(column: Column, values: list[str], lines: list[str], found: LineFindings) -> None:
    """Cleans one column's cells in place (`lines` are their file lines). A column without a
    suspect cell, the usual case, costs one search over its joined text."""
    suspect = CONTROL_CHARACTERS if column.multiline else _ONE_LINE_SUSPECT
    longest = max(map(len, values), default=0)
    if longest <= column.max_length and not suspect.search("".join(values)):
        return
    for index, text in enumerate(values):
        if len(text) > column.max_length or suspect.search(text):
            values[index] = _clean(column, text, int(lines[index]), found)


def _clean(column: Column, text: str, line: int, found: LineFindings) -> str:
    if len(text) > column.max_length:
        found.refuse(line, _too_long(column, line, len(text)))
        text = text[: column.max_length]
    controls = sorted(set(CONTROL_CHARACTERS.findall(text)))
    if controls:
        text = CONTROL_CHARACTERS.sub(_REPLACEMENT, text)
        found.refuse(line, _control_characters(column, line, controls, text))
    if not column.multiline and LINE_BREAKS.search(text):
        text = LINE_BREAKS.sub(" ", text)
        found.warn(line, _line_break(column, line, text))
    return text


def _shown(text: str) -> str:
    return text if len(text) <= _VALUE_SHOWN else text[: _VALUE_SHOWN - 1] + "…"


def _reason(rule: str, column: Column, line: int, value: str, fr: str, en: str) -> Reason:
    """A finding about one cell: both messages name its line and column first."""
    return Reason(
        rule=rule,
        column=column.name,
        value=value,
        message_fr=f"Ligne {line} : la colonne {column.name} {fr}",
        message_en=f"line {line}: {column.name} {en}",
    )


def _too_long(column: Column, line: int, length: int) -> Reason:
    limit = column.max_length
    return _reason(
        "field.too_long",
        column,
        line,
        f"{length} characters",
        f"fait {length} caractères, au-delà de la limite de {limit} ; corrigez la cellule "
        "(texte collé par erreur ?).",
        f"is {length} characters long, over the limit of {limit}",
    )


def _control_characters(column: Column, line: int, controls: list[str], text: str) -> Reason:
    codes = ", ".join(f"U+{ord(c):04X}" for c in controls)
    return _reason(
        "text.control_characters",
        column,
        line,
        _shown(text),
        f"contient des caractères de contrôle invisibles ({codes}), remplacés par "
        f"« {_REPLACEMENT} » ; retapez la valeur au lieu de la copier-coller.",
        f"holds control characters ({codes})",
    )


def _line_break(column: Column, line: int, text: str) -> Reason:
    return _reason(
        "text.line_break",
        column,
        line,
        _shown(text),
        "tenait sur plusieurs lignes ; les retours à la ligne et tabulations ont été remplacés "
        "par une espace.",
        "held line breaks or tabs, replaced by a space",
    )
