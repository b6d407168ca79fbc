"""Reading an invoice's routing data from the text of its PDF, the way Chorus Pro's OCR does.

The cooperative's guide tells entrepreneurs to write the buyer's SIRET, the engagement number and
the service code on the invoice "en objet ou en description des produits", each announced by a
keyword ("SIRET client", "Engagement", "EJ", "Commande", "Code service"). A value counts here only
when one of those keywords announces it: on the same line after the label (`Engagement : 1300012345`),
alone on the next line (label on one line, value on the next), or in a table (a row of labels, then
a row with as many values). A value is never taken from under another label, known or not
(`SIRET : …` is the seller's, not the buyer's), and a word without a digit is not a reference
(but for a service code in capitals, "ECOLES").

Everything is a pure function of the text: any input gives a `FoundFields`, never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tasks.preflight.text import plain_characters

BUYER_SIRET = "buyer_siret"
ENGAGEMENT = "engagement_number"
SERVICE = "buyer_service_code"
ORIGINAL = "original_invoice_number"
NUMBER = "invoice_number"
FIELDS = (BUYER_SIRET, ENGAGEMENT, SERVICE, ORIGINAL, NUMBER)

#: The labels that announce each field, as regular expressions over NFKC text (case ignored).
#: "Facture n°" is the invoice's own number, "Référence : Facture n°" a credit note's original.
_LABELS: dict[str, tuple[str, ...]] = {
    BUYER_SIRET: (
        r"siret\s+(?:du\s+|de\s+l['’]\s*)?(?:client|destinataire|acheteur)",
        r"n[°o]\.?\s*d['’]\s*identification",
    ),
    ENGAGEMENT: (
        r"(?:num[ée]ro|n[°o]\.?)\s+d['’]\s*engagement(?:\s+juridique)?",
        r"engagement(?:\s+juridique)?",
        r"(?:n[°o]\.?\s*)?ej",
        r"(?:bon|num[ée]ro|n[°o]\.?)\s+de\s+commande",
        r"commande",
    ),
    SERVICE: (
        r"code\s+(?:du\s+)?service(?:\s+ex[ée]cutant)?",
        r"service\s+ex[ée]cutant",
    ),
    ORIGINAL: (
        r"r[ée]f[ée]rence\s*:?\s*facture\s*n[°o]\.?",
        r"(?:avoir\s+)?en\s+annulation\s+de\s+la\s+facture(?:\s+n[°o]\.?)?",
        r"facture\s+d['’]\s*origine(?:\s+n[°o]\.?)?",
    ),
    NUMBER: (r"(?:facture|avoir)\s+n[°o]\.?",),
}

#: Labels of other data: what follows them belongs to them, never to one of the fields.
_OTHER_LABELS = (
    r"siret",
    r"siren",
    r"n[°o]\.?\s*(?:de\s+)?tva(?:\s+intracommunautaire)?",
    r"tva(?:\s+intracommunautaire)?",
    r"iban",
    r"bic",
    r"total(?:\s+(?:ht|ttc|tva))?",
    r"net\s+[àa]\s+payer",
    r"montant(?:\s+(?:ht|ttc|tva))?",
    r"date(?:\s+d['’]\s*[ée]ch[ée]ance|\s+de\s+facture|\s+du\s+document)?",
    r"objet",
    r"client",
    r"destinataire",
    r"march[ée](?:\s+n[°o]\.?)?",
    r"code\s+(?:postal|entrepreneur|ape|naf)",
    r"t[ée]l[ée]phone|t[ée]l\.?",
    r"e-?mail|courriel",
    r"quantit[ée]",
    r"prix(?:\s+unitaire)?(?:\s+ht)?",
    r"entrepreneur",
    r"r[ée]f[ée]rence",
    r"facture",
    r"avoir",
)

#: Words one of the fields' labels holds: a line without any announces none of them.
_FIELD_HINT = re.compile(
    r"siret|identification|engagement|ej|commande|service|f[ée]rence|annulation|origine|"
    r"facture|avoir",
    re.IGNORECASE,
)
_GROUPS = {name: f"f{index}" for index, name in enumerate(FIELDS)}
_FIELD_OF_GROUP = {group: name for name, group in _GROUPS.items()}
_LABEL = re.compile(
    "|".join(
        [
            *(
                rf"(?P<{_GROUPS[name]}>(?<![\w])(?:{'|'.join(patterns)})(?![\w]))"
                for name, patterns in _LABELS.items()
            ),
            rf"(?P<other>(?<![\w])(?:{'|'.join(_OTHER_LABELS)})(?![\w]))",
        ]
    ),
    re.IGNORECASE,
)
#: Between a label and its value: a parenthesis ("Engagement (EJ / bon de commande) :"), "n°",
#: and a colon or dash.
_SEPARATOR = re.compile(
    r"[ \t]*(?:\([^()\n]{0,60}\)[ \t]*)?(?:(?:n[°o]\.?|num[ée]ro)(?![\w])[ \t]*)?[:#=–-]?[ \t]*",
    re.IGNORECASE,
)
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_/+.-]*")
_SIRET_DIGITS = re.compile(r"\d(?:[ .]?\d){8,13}(?![\d])")
_MAX_REFERENCE = 50


@dataclass(frozen=True)
class FoundFields:
    """Each field's distinct values in the order the text gives them (several: the text disagrees
    with itself, which the caller reports rather than choose)."""

    values: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def get(self, name: str) -> tuple[str, ...]:
        return self.values.get(name, ())

    def one(self, name: str) -> str | None:
        """The field's value when the text gives exactly one."""
        found = self.get(name)
        return found[0] if len(found) == 1 else None


def _plain(text: str) -> str:
    """Plain characters; line breaks are kept, since a value may sit on the next line."""
    return plain_characters(text).replace("\r\n", "\n").replace("\r", "\n")


def _is_reference(name: str, value: str) -> bool:
    """A reference has a digit; a service code may be a word in capitals ("ECOLES")."""
    if len(value) > _MAX_REFERENCE:
        return False
    if any(ch.isdigit() for ch in value):
        return True
    return name == SERVICE and len(value) >= 2 and value.isupper()


def _value_at(name: str, line: str, start: int) -> str | None:
    """The value of field `name` starting at `start` in `line`, or None."""
    if name == BUYER_SIRET:
        match = _SIRET_DIGITS.match(line, start)
        if match is None:
            return None
        digits = re.sub(r"\D", "", match.group())
        return digits if len(digits) in (9, 14) else None
    match = _REFERENCE.match(line, start)
    if match is None:
        return None
    value = match.group().rstrip("./-+_")
    return value if _is_reference(name, value) else None


@dataclass
class _Label:
    name: str | None  # None: another label
    start: int
    end: int  # after the label and its separator


def _labels(line: str) -> list[_Label]:
    """The labels of one line, left to right; a label's separator (a parenthesis included) is
    its own, so the words inside "(EJ / bon de commande)" are not labels of their own."""
    found: list[_Label] = []
    position = 0
    while (match := _LABEL.search(line, position)) is not None:
        separator = _SEPARATOR.match(line, match.end())
        end = separator.end() if separator else match.end()
        found.append(_Label(_FIELD_OF_GROUP.get(match.lastgroup or "other"), match.start(), end))
        position = max(end, match.end() + 1)
    return found


def _tokens(line: str) -> list[str]:
    return line.split()


def find_fields(text: str) -> FoundFields:
    """Every field the text announces by a keyword; see the module's docstring for the layouts."""
    found: dict[str, list[str]] = {}

    def add(name: str, value: str | None) -> None:
        if value is not None and value not in found.setdefault(name, []):
            found[name].append(value)

    lines = _plain(text).split("\n")
    labelled: dict[int, list[_Label]] = {}

    def labels_of(index: int) -> list[_Label]:
        if index not in labelled:
            labelled[index] = _labels(lines[index])
        return labelled[index]

    for index, line in enumerate(lines):
        # Most lines announce none of the fields: a cheap look for their words comes first.
        if not _FIELD_HINT.search(line):
            continue
        labels = labels_of(index)
        waiting: list[_Label] = []  # labels with nothing after them on their line
        for position, label in enumerate(labels):
            following = labels[position + 1].start if position + 1 < len(labels) else len(line)
            rest = line[label.end : following]
            if not rest.strip():
                waiting.append(label)
                continue
            if label.name is not None:
                value = _value_at(label.name, line[:following], label.end)
                add(label.name, value)
        if not waiting or index + 1 >= len(lines) or labels_of(index + 1):
            continue
        # The values are on the next line, which holds no label: one label takes its first
        # value; a row of labels alone (a table's header) takes a row of as many values.
        after = _tokens(lines[index + 1])
        if len(waiting) == 1 and len(labels) == 1 and after:
            name = waiting[0].name
            following_line = lines[index + 1]
            if name is not None:
                indent = len(following_line) - len(following_line.lstrip())
                add(name, _value_at(name, following_line, indent))
        elif len(waiting) == len(labels) > 1 and len(after) == len(labels):
            header_only = not _LABEL.sub("", line).strip(" \t:|-")
            for label, token in zip(labels, after, strict=True):
                if header_only and label.name is not None:
                    add(label.name, _value_at(label.name, token, 0))
    return FoundFields({name: tuple(values) for name, values in found.items() if values})
