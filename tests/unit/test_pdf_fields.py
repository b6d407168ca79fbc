"""Routing data read from an invoice's text by the guide's keywords (`tasks.preflight.fields`):
precision on the layouts invoices use, and, over generated documents, never an exception and never
a value taken from under another label."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.preflight.fields import (
    BUYER_SIRET,
    ENGAGEMENT,
    NUMBER,
    ORIGINAL,
    SERVICE,
    find_fields,
)

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # label and value on one line, the guide's keywords
        ("Engagement : 1300012345", {ENGAGEMENT: "1300012345"}),
        ("EJ 1300012345", {ENGAGEMENT: "1300012345"}),
        ("N° EJ : 1300012345", {ENGAGEMENT: "1300012345"}),
        ("Commande n° BC-4521", {ENGAGEMENT: "BC-4521"}),
        ("Bon de commande : BC-4521.", {ENGAGEMENT: "BC-4521"}),
        ("Engagement (EJ / bon de commande) : EJ12345678", {ENGAGEMENT: "EJ12345678"}),
        ("Code service : 28E", {SERVICE: "28E"}),
        ("SIRET client : 21670447800017", {BUYER_SIRET: "21670447800017"}),
        ("SIRET destinataire : 216 700 447 00017", {BUYER_SIRET: "21670044700017"}),
        ("N° d'identification : 21670447800017", {BUYER_SIRET: "21670447800017"}),
        ("N° d’identification : 216704478", {BUYER_SIRET: "216704478"}),
        # CAERP's headings and a credit note's reference
        ("Facture N° FC0042-26", {NUMBER: "FC0042-26"}),
        (
            "Avoir N° AV0003-26\nRéférence : Facture N° FC0042-26",
            {NUMBER: "AV0003-26", ORIGINAL: "FC0042-26"},
        ),
        ("Avoir en annulation de la facture n° FC0042-26", {ORIGINAL: "FC0042-26"}),
        # non-breaking and narrow spaces, as WeasyPrint and fpdf write them
        (f"Engagement{NBSP}:{NBSP}1300012345", {ENGAGEMENT: "1300012345"}),
        ("SIRET client\u202f: 216\u00a0700\u00a0447\u00a000017", {BUYER_SIRET: "21670044700017"}),
        # label on one line, value on the next
        ("Engagement :\n1300012345\nTotal TTC : 12,00 €", {ENGAGEMENT: "1300012345"}),
        ("Code service\n  28E", {SERVICE: "28E"}),
        # a table: a row of labels, then a row of values
        (
            "N° EJ Code service SIRET client\n1300012345 28E 21670447800017",
            {ENGAGEMENT: "1300012345", SERVICE: "28E", BUYER_SIRET: "21670447800017"},
        ),
        # in the object, among other words
        (
            "Objet : Ateliers d'écriture - Engagement : EJ123 - Code service : 28E",
            {ENGAGEMENT: "EJ123", SERVICE: "28E"},
        ),
    ],
)
def test_values_announced_by_a_keyword_are_read(text: str, expected: dict[str, str]) -> None:
    found = find_fields(text)
    assert {name: found.one(name) for name in expected} == expected
    assert set(found.values) == set(expected)


@pytest.mark.parametrize(
    "text",
    [
        "SIRET : 51858054300107",  # the seller's, under its own label
        "Engagement : Code service : 28E",  # the value is the next label's
        "Engagement :\nCode service : 28E",
        "Commande : ateliers du mois de mai",  # words are not a reference
        "EJ1300012345",  # glued: a reference, not a label
        "N° TVA intracommunautaire : FR12518580543",
        "Engagement Code service\n1300012345",  # a table whose row does not fill the labels
        "Total TTC : 1 234,56 €",
    ],
)
def test_nothing_is_taken_from_another_label_or_a_guess(text: str) -> None:
    found = find_fields(text)
    assert found.get(ENGAGEMENT) == ()
    assert found.get(BUYER_SIRET) == ()
    assert found.one(SERVICE) in (None, "28E")
    if "28E" in text:
        assert found.get(ENGAGEMENT) == ()


def test_a_text_that_disagrees_with_itself_gives_every_value() -> None:
    found = find_fields("Engagement : EJ1\nObjet : prestation, EJ : EJ2\nEngagement : EJ1")
    assert found.get(ENGAGEMENT) == ("EJ1", "EJ2")
    assert found.one(ENGAGEMENT) is None


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_gives_fields_never_an_exception(text: str) -> None:
    found = find_fields(text)
    for values in found.values.values():
        assert all(values)


# A generated invoice: lines of labelled values, each field's labels and the other labels mixed,
# laid out on one line, on two, or as a table; values are distinct per label so that each found
# value can be traced back to the label it was written under.
FIELD_LABELS = {
    ENGAGEMENT: ["Engagement", "EJ", "N° EJ", "Commande", "Bon de commande", "Numéro d'engagement"],
    SERVICE: ["Code service", "Service exécutant"],
    BUYER_SIRET: ["SIRET client", "SIRET destinataire", "N° d'identification"],
}
OTHER_LABELS = ["SIRET", "IBAN", "Total TTC", "Date", "N° TVA", "Objet", "Client", "Marché n°"]
SEPARATORS = [" : ", ": ", " ", f"{NBSP}:{NBSP}", " - ", " n° "]

labels = st.sampled_from(
    [(name, label) for name, options in FIELD_LABELS.items() for label in options]
    + [(None, label) for label in OTHER_LABELS]
)
references = st.from_regex(r"[A-Z]{0,3}[0-9]{2,9}[A-Z]?", fullmatch=True)
sirets = st.from_regex(r"[0-9]{14}", fullmatch=True)
layouts = st.sampled_from(["line", "two_lines", "table"])


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[str | None, set[str]]]:
    written: dict[str | None, set[str]] = {}
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        layout = draw(layouts)
        cells = draw(st.lists(labels, min_size=1, max_size=3))
        values = [draw(sirets if name == BUYER_SIRET else references) for name, _ in cells]
        for (name, _), value in zip(cells, values, strict=True):
            written.setdefault(name, set()).add(value)
        if layout == "table" and len(cells) > 1:
            lines.append(" ".join(label for _, label in cells))
            lines.append(" ".join(values))
        elif layout == "two_lines":
            for (_, label), value in zip(cells, values, strict=True):
                lines += [f"{label} :", value]
        else:
            separator = draw(st.sampled_from(SEPARATORS))
            lines.append(
                " ".join(
                    f"{label}{separator}{value}"
                    for (_, label), value in zip(cells, values, strict=True)
                )
            )
        if draw(st.booleans()):
            lines.append(
                draw(st.sampled_from(["", "Prestation de service", "Total HT : 100,00 €"]))
            )
    return "\n".join(lines), written


@settings(max_examples=400, deadline=None)
@given(documents())
def test_a_value_found_was_written_under_one_of_its_fields_labels(
    document: tuple[str, dict[str | None, set[str]]],
) -> None:
    text, written = document
    found = find_fields(text)
    for name in FIELD_LABELS:
        for value in found.get(name):
            assert value in written.get(name, set()), (name, value, text)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(FIELD_LABELS)), st.data())
def test_a_lone_labelled_value_is_found_in_every_layout(name: str, data: st.DataObject) -> None:
    label = data.draw(st.sampled_from(FIELD_LABELS[name]))
    value = data.draw(sirets if name == BUYER_SIRET else references)
    separator = data.draw(st.sampled_from(SEPARATORS))
    text = data.draw(
        st.sampled_from(
            [
                f"{label}{separator}{value}",
                f"{label} :\n{value}",
                f"Objet : travaux - {label}{separator}{value}",
            ]
        )
    )
    assert find_fields(text).one(name) == value, text
