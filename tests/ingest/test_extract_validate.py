"""Reading and validating the accounting export, engine-free."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tasks.ingest.extract import decode, detect_separator, read_invoices
from tasks.ingest.validate import (
    EntrepreneurEntry,
    InvoiceDraft,
    parse_amount_cents,
    parse_rate_bp,
    validate_rows,
)

ANTIGONE = "51858054300107"
SCHILTIGHEIM = "21670447800017"
TODAY = date(2026, 11, 27)
HEADER = (
    "numero_facture;date_facture;type_facture;facture_origine;siret_fournisseur;code_entrepreneur;"
    "siret_client;client;code_service;numero_engagement;taux_tva;montant_ht;montant_tva;montant_ttc;"
    "motif_exoneration;date_echeance;fichier_pdf"
)
DIRECTORY = {(ANTIGONE, "ANT-E001"): EntrepreneurEntry("ANT-E001", "Alice", "a@x.fr", ANTIGONE)}


def _row(**overrides: str) -> str:
    values = {
        "numero_facture": "FC0142-24",
        "date_facture": "02/11/2026",
        "type_facture": "",
        "facture_origine": "",
        "siret_fournisseur": ANTIGONE,
        "code_entrepreneur": "ANT-E001",
        "siret_client": "216 704 478 00017",
        "client": "Mairie de Schiltigheim",
        "code_service": "28E",
        "numero_engagement": "",
        "taux_tva": "20",
        "montant_ht": "1 000,00",
        "montant_tva": "200,00",
        "montant_ttc": "",
        "motif_exoneration": "",
        "date_echeance": "",
        "fichier_pdf": "pdf/FC0142-24.pdf",
    }
    values.update(overrides)
    return ";".join(values.values())


def _validate(tmp_path: Path, *rows: str, encoding: str = "utf-8") -> dict[str, InvoiceDraft]:
    (tmp_path / "invoices.csv").write_bytes(("\n".join([HEADER, *rows]) + "\n").encode(encoding))
    table = read_invoices(tmp_path)
    assert table.readable, table.reasons
    drafts = validate_rows(
        table.frame, today=TODAY, supplier_sirets=[ANTIGONE], entrepreneurs=DIRECTORY
    )
    return {d.invoice_number: d for d in drafts}


def _rules(draft: InvoiceDraft) -> set[str]:
    return {r.rule for r in draft.reasons}


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("1 234,56", 123456),
        ("1\u00a0234,56", 123456),
        ("1\u202f234,56 €", 123456),
        ("1.234,56", 123456),
        ("1,234.56", 123456),
        ("1234.5", 123450),
        ("12", 1200),
        ("0,01", 1),
        ("1,2,3", None),
        ("12,345", None),
        ("abc", None),
    ],
)
def test_amounts_parse_to_integer_cents(text: str, cents: int | None) -> None:
    assert parse_amount_cents(text) == cents


def test_rates_parse_to_basis_points() -> None:
    assert parse_rate_bp("5,5") == 550
    assert parse_rate_bp("20 %") == 2000
    assert parse_rate_bp("2.1") == 210
    assert parse_rate_bp("vingt") is None


def test_encodings_and_separators_are_detected() -> None:
    assert decode("é;€".encode("cp1252")) == ("é;€", "cp1252")
    assert decode("\ufeffé".encode()) == ("é", "utf-8-sig")
    assert detect_separator("a,b,c\n1;2,3") == ","
    assert detect_separator("a\tb\tc") == "\t"


def test_a_good_invoice_has_no_reason_and_amounts_in_cents(tmp_path: Path) -> None:
    drafts = _validate(tmp_path, _row())
    draft = drafts["FC0142-24"]
    assert draft.reasons == []
    assert draft.header["buyer_siret"] == SCHILTIGHEIM
    assert (draft.amount_ht_cents, draft.amount_vat_cents, draft.total_ttc_cents) == (
        100000,
        20000,
        120000,
    )
    assert draft.header["invoice_date"] == date(2026, 11, 2)


def test_windows_1252_with_english_headers_and_extra_columns(tmp_path: Path) -> None:
    text = (
        "Invoice Number,Invoice Date,Supplier SIRET,Entrepreneur Code,Buyer SIRET,Buyer Name,"
        "VAT Rate,Amount HT,Amount VAT,PDF File,Notes\n"
        f"FC1,2026-11-02,{ANTIGONE},ANT-E001,{SCHILTIGHEIM},Crèche Évasion,10,50.00,5.00,a.pdf,x\n"
    )
    (tmp_path / "invoices.csv").write_bytes(text.encode("cp1252"))
    table = read_invoices(tmp_path)
    assert table.ignored_columns == ["Notes"]
    drafts = validate_rows(
        table.frame, today=TODAY, supplier_sirets=[ANTIGONE], entrepreneurs=DIRECTORY
    )
    assert drafts[0].header["buyer_name"] == "Crèche Évasion"
    assert drafts[0].reasons == []


def test_missing_required_columns_fail_the_file_with_one_message(tmp_path: Path) -> None:
    (tmp_path / "invoices.csv").write_text("numero_facture;client\nFC1;X\n", encoding="utf-8")
    table = read_invoices(tmp_path)
    assert len(table.reasons) == 1
    assert table.reasons[0].rule == "file.missing_columns"
    assert "supplier_siret" in table.reasons[0].message_en


def test_every_problem_of_every_row_is_reported_at_once(tmp_path: Path) -> None:
    drafts = _validate(
        tmp_path,
        _row(
            numero_facture="FC 42!",
            date_facture="2031-01-01",
            siret_client="21670447800018",
            taux_tva="7",
            montant_tva="abc",
        ),
        _row(numero_facture="FC2", siret_fournisseur="12345678901234", code_entrepreneur="X9"),
        _row(numero_facture="FC3"),
    )
    assert _rules(drafts["FC 42!"]) == {
        "invoice_number.format",
        "invoice_date.future",
        "buyer_siret.invalid",
        "vat_rate.unknown",
        "amount.format",
    }
    assert {"supplier.unknown", "entrepreneur.unknown"} <= _rules(drafts["FC2"])
    assert drafts["FC3"].reasons == []


def test_vat_lines_of_one_invoice_must_agree_and_total_must_match(tmp_path: Path) -> None:
    drafts = _validate(
        tmp_path,
        _row(numero_facture="M1", taux_tva="20", montant_ttc="1 305,50"),
        _row(
            numero_facture="M1",
            taux_tva="5,5",
            montant_ht="100",
            montant_tva="5,50",
            montant_ttc="1 305,50",
        ),
        _row(numero_facture="M2", montant_ttc="1 300,00"),
        _row(numero_facture="D1"),
        _row(numero_facture="D1", siret_client="21679001400015"),
    )
    assert drafts["M1"].reasons == []
    assert drafts["M1"].total_ttc_cents == 130550
    assert _rules(drafts["M2"]) == {"invoice.total_mismatch"}
    assert "invoice.lines_disagree" in _rules(drafts["D1"])


def test_vat_consistency_and_exemptions_and_credit_notes(tmp_path: Path) -> None:
    drafts = _validate(
        tmp_path,
        _row(numero_facture="V1", montant_tva="210,00"),
        _row(numero_facture="V2", montant_tva="200,01"),
        _row(numero_facture="E1", taux_tva="0", montant_tva="0"),
        _row(
            numero_facture="E2",
            taux_tva="0",
            montant_tva="0",
            motif_exoneration="TVA non applicable, art. 293 B du CGI",
        ),
        _row(numero_facture="A1", type_facture="AVOIR"),
        _row(numero_facture="A2", type_facture="AVOIR", facture_origine="FC0142-24"),
        _row(numero_facture="N1", montant_ht="-10", montant_tva="-2"),
        _row(numero_facture="DD", date_echeance="01/11/2026"),
    )
    assert _rules(drafts["V1"]) == {"vat.amount_mismatch"}
    assert drafts["V2"].reasons == []
    assert _rules(drafts["E1"]) == {"vat.exemption_reason_missing"}
    assert drafts["E2"].reasons == []
    assert _rules(drafts["A1"]) == {"credit_note.original_missing"}
    assert drafts["A2"].reasons == []
    assert "amount.negative" in _rules(drafts["N1"])
    assert _rules(drafts["DD"]) == {"due_date.before_invoice"}


def test_entrepreneur_must_belong_to_the_supplier_structure(tmp_path: Path) -> None:
    directory = {
        **DIRECTORY,
        ("47840796800054", "ART-E001"): EntrepreneurEntry(
            "ART-E001", "B", "b@x.fr", "47840796800054"
        ),
    }
    (tmp_path / "invoices.csv").write_text(
        HEADER + "\n" + _row(code_entrepreneur="ART-E001") + "\n", encoding="utf-8"
    )
    drafts = validate_rows(
        read_invoices(tmp_path).frame,
        today=TODAY,
        supplier_sirets=[ANTIGONE, "47840796800054"],
        entrepreneurs=directory,
    )
    assert {r.rule for r in drafts[0].reasons} == {"entrepreneur.wrong_structure"}


def test_another_structure_is_named_only_within_the_invoice_s_cooperative(
    tmp_path: Path,
) -> None:
    """Artenréel's code is no hint for an Antigone invoice once they are two cooperatives: each
    numbers its entrepreneurs its own way; a code of the same cooperative's other structure is."""
    artenreel, other_antigone = "47840796800054", "73282932000074"
    directory = {
        **DIRECTORY,
        (artenreel, "ART-E001"): EntrepreneurEntry("ART-E001", "B", "b@x.fr", artenreel),
        (other_antigone, "ANT-E009"): EntrepreneurEntry("ANT-E009", "C", "c@x.fr", other_antigone),
    }
    owners = {ANTIGONE: "antigone", other_antigone: "antigone", artenreel: "artenreel"}
    (tmp_path / "invoices.csv").write_text(
        "\n".join(
            [
                HEADER,
                _row(numero_facture="F1", code_entrepreneur="ART-E001"),
                _row(numero_facture="F2", code_entrepreneur="ANT-E009"),
                _row(numero_facture="F3", code_entrepreneur="ANT-E001"),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    drafts = {
        d.invoice_number: d
        for d in validate_rows(
            read_invoices(tmp_path).frame,
            today=TODAY,
            supplier_sirets=list(owners),
            entrepreneurs=directory,
            owner=owners.__getitem__,
        )
    }
    assert _rules(drafts["F1"]) == {"entrepreneur.unknown"}
    assert _rules(drafts["F2"]) == {"entrepreneur.wrong_structure"}
    assert drafts["F3"].reasons == []
    unchecked = validate_rows(
        read_invoices(tmp_path).frame,
        today=TODAY,
        supplier_sirets=list(owners),
        entrepreneurs=directory,
        owner=owners.__getitem__,
        unchecked={"antigone"},
    )
    assert all(d.reasons == [] for d in unchecked), "no directory to check them against"


def test_reasons_carry_french_and_english_messages(tmp_path: Path) -> None:
    drafts = _validate(tmp_path, _row(siret_client="123"))
    reason = drafts["FC0142-24"].reasons[0]
    assert reason.rule == "buyer_siret.invalid"
    assert reason.column == "buyer_siret"
    assert reason.value == "123"
    assert "SIRET" in reason.message_fr and "invalide" in reason.message_fr
    assert "invalid" in reason.message_en
