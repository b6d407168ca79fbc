"""The export's words to EN 16931 codes: document type, payment means, VAT category, VATEX."""

from __future__ import annotations

import pytest

from tasks.facturx import codes


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("TVA non applicable, art. 293 B du CGI", "VATEX-FR-FRANCHISE"),
        ("TVA non applicable - article 293B du Code général des impôts", "VATEX-FR-FRANCHISE"),
        ("Exonération de TVA, article 261-4-4° a du CGI", "VATEX-FR-CGI261-4"),
        ("Exonéré en vertu de l'article 261 D-1° bis du CGI", "VATEX-FR-CGI261D-1BIS"),
        ("Exonération art. 261 C 2° du CGI", "VATEX-FR-CGI261C-2"),
        ("Exonération, article 261 B du CGI", "VATEX-FR-CGI261B"),
        ("Article 275 du CGI", "VATEX-FR-CGI275"),
        ("Exonération article 261 du CGI", None),
        ("Exonération de TVA", None),
        ("", None),
        (None, None),
    ],
)
def test_exemption_reasons_map_to_vatex_codes_only_when_recognised(
    reason: str | None, code: str | None
) -> None:
    assert codes.vatex_code(reason) == code


@pytest.mark.parametrize(
    ("mode", "code"),
    [("VIREMENT", "30"), ("virement", "30"), ("CHEQUE", "20"), ("PRELEVEMENT", "49"), ("?", "1")],
)
def test_payment_modes_map_to_untdid_4461(mode: str, code: str) -> None:
    assert codes.payment_means_code(mode) == code


def test_credit_notes_are_381_and_everything_else_380() -> None:
    assert codes.document_type_code("AVOIR") == "381"
    assert codes.document_type_code("FACTURE") == "380"
    assert codes.vat_category(0) == "E"
    assert codes.vat_category(550) == "S"
