"""Chorus Pro's public-sector rules at ingest: for every BR-FR-CPRO rule our data can break, an
invoice that breaks it is refused with a reason naming the rule (French and English) and one that
respects it is not; the Factur-X-only rules apply to Factur-X structures only."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from chorus_etl.settings import ARTENREEL_SIRET, Settings
from tasks.ingest.b2g_rules import b2g_reasons
from tasks.ingest.extract import read_invoices
from tasks.ingest.validate import EntrepreneurEntry, InvoiceDraft, validate_rows
from tasks.sample.export import COLUMNS

SCHILTIGHEIM = "21670447800017"
TODAY = date(2026, 11, 27)
DIRECTORY = {
    (ARTENREEL_SIRET, "ART-E001"): EntrepreneurEntry("ART-E001", "Alice", "a@x.fr", ARTENREEL_SIRET)
}
IDENTITY = {
    "name": "ARTENREEL",
    "address_line": "1 rue de la Coopération",
    "postcode": "67000",
    "city": "Strasbourg",
    "iban": "FR7630004000010000000000000",
}


def _row(**overrides: str) -> str:
    values = {
        "numero_facture": "FC0142-24",
        "date_facture": "02/11/2026",
        "type_facture": "FACTURE",
        "facture_origine": "",
        "siret_fournisseur": ARTENREEL_SIRET,
        "code_entrepreneur": "ART-E001",
        "siret_client": SCHILTIGHEIM,
        "client": "Mairie de Schiltigheim",
        "code_service": "28E",
        "numero_engagement": "",
        "numero_marche": "",
        "taux_tva": "20",
        "montant_ht": "1000,00",
        "montant_tva": "200,00",
        "mode_paiement": "VIREMENT",
        "fichier_pdf": "pdf/FC0142-24.pdf",
        "commentaire": "",
    }
    values.update(overrides)
    return ";".join(values.get(column, "") for column in COLUMNS)


def _settings(facturx: bool, **identity: str) -> Settings:
    return Settings(
        _env_file=None,
        supplier_sirets=[ARTENREEL_SIRET],
        deposit_modes={ARTENREEL_SIRET: "facturx" if facturx else "pdf"},
        supplier_identities={ARTENREEL_SIRET: {**IDENTITY, **identity}},
    )


def _draft(folder: Path, row: str) -> InvoiceDraft:
    (folder / "invoices.csv").write_text(";".join(COLUMNS) + "\n" + row + "\n", encoding="utf-8")
    table = read_invoices(folder)
    assert table.readable, table.reasons
    (draft,) = validate_rows(
        table.frame, today=TODAY, supplier_sirets=[ARTENREEL_SIRET], entrepreneurs=DIRECTORY
    )
    return draft


def _rules(folder: Path, row: str, settings: Settings) -> set[str]:
    """Every rule the invoice of `row` breaks: the export contract's and the public sector's."""
    draft = _draft(folder, row)
    return {r.rule for r in [*draft.reasons, *b2g_reasons(draft, settings)]}


@dataclass(frozen=True)
class Case:
    """A CPRO rule: the reason it gives, an invoice that breaks it and one that respects it."""

    rule: str
    failing: dict[str, str] = field(default_factory=dict)
    passing: dict[str, str] = field(default_factory=dict)
    identity: Callable[[bool], dict[str, str]] = lambda _failing: {}
    facturx_only: bool = False


CASES = {
    "CPRO-02 invoice number (BT-1) at most 20": Case(
        "invoice_number.format",
        failing={"numero_facture": "FC-2026-11-000142-ANT"},
        passing={"numero_facture": "FC-2026-11-00142-AN"},
    ),
    "CPRO-02 preceding invoice number (BT-25) at most 20": Case(
        "b2g.cpro-02",
        failing={"type_facture": "AVOIR", "facture_origine": "FC-2026-11-000142-ANT"},
        passing={"type_facture": "AVOIR", "facture_origine": "FC-2026-11-00142-AN"},
    ),
    "CPRO-14 contract reference (BT-12) at most 50": Case(
        "b2g.cpro-14",
        failing={"numero_marche": "M" * 51},
        passing={"numero_marche": "M" * 50},
    ),
    "CPRO-15 order reference (BT-13) at most 50": Case(
        "engagement.too_long",
        failing={"numero_engagement": "E" * 51},
        passing={"numero_engagement": "E" * 50},
    ),
    "CPRO-20 one preceding invoice at most": Case(
        "b2g.cpro-20",
        failing={"type_facture": "AVOIR", "facture_origine": "FC0140-24, FC0141-24"},
        passing={"type_facture": "AVOIR", "facture_origine": "FC0140-24"},
    ),
    "CPRO-42 note (BT-22) at most 1024": Case(
        "b2g.cpro-42",
        failing={"commentaire": "c" * 1025},
        passing={"commentaire": "c" * 1024},
    ),
    "CPRO-44 buyer name (BT-44) at most 99": Case(
        "b2g.cpro-44",
        failing={"client": "C" * 100},
        passing={"client": "C" * 99},
        facturx_only=True,
    ),
    "CPRO-43 seller name (BT-27) at most 99": Case(
        "b2g.cpro-43",
        identity=lambda failing: {"name": "N" * (100 if failing else 99)},
        facturx_only=True,
    ),
    "CPRO-32 seller street (BT-35) at most 400": Case(
        "b2g.cpro-32",
        identity=lambda failing: {"address_line": "R" * (401 if failing else 400)},
        facturx_only=True,
    ),
    "CPRO-33 seller city (BT-37) at most 400": Case(
        "b2g.cpro-33",
        identity=lambda failing: {"city": "V" * (401 if failing else 400)},
        facturx_only=True,
    ),
    "CPRO-39 payment account (BT-84) at most 27": Case(
        "b2g.cpro-39",
        identity=lambda failing: {"iban": "MT84MALT011000012345MTLCAST001S" if failing else ""},
        facturx_only=True,
    ),
}


@pytest.mark.parametrize("facturx", [False, True], ids=["pdf-mode", "facturx-mode"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_each_public_sector_rule_fails_and_passes(tmp_path: Path, case: str, facturx: bool) -> None:
    rule = CASES[case]
    failing = _rules(tmp_path, _row(**rule.failing), _settings(facturx, **rule.identity(True)))
    passing = _rules(tmp_path, _row(**rule.passing), _settings(facturx, **rule.identity(False)))
    applies = facturx or not rule.facturx_only
    assert (rule.rule in failing) is applies, failing
    assert rule.rule not in passing, passing


def test_the_iban_rule_only_applies_to_a_credit_transfer(tmp_path: Path) -> None:
    settings = _settings(True, iban="MT84MALT011000012345MTLCAST001S")
    assert "b2g.cpro-39" not in _rules(tmp_path, _row(mode_paiement="CHEQUE"), settings)


def test_the_reason_names_its_rule_in_french_and_english(tmp_path: Path) -> None:
    draft = _draft(tmp_path, _row(numero_marche="M" * 51))
    (reason,) = b2g_reasons(draft, _settings(False))
    assert reason.rule == "b2g.cpro-14"
    assert "BR-FR-CPRO-14" in reason.message_fr and "51 caractères" in reason.message_fr
    assert reason.message_en.startswith("BR-FR-CPRO-14: ")
    assert reason.column == "market_number"
    setup = b2g_reasons(_draft(tmp_path, _row()), _settings(True, name="N" * 100))
    assert [r.rule for r in setup] == ["b2g.cpro-43"]
    assert "comptabilité" in setup[0].message_fr


def test_the_export_contract_reasons_name_their_cpro_rule(tmp_path: Path) -> None:
    draft = _draft(tmp_path, _row(numero_engagement="E" * 51))
    (reason,) = draft.reasons
    assert "BR-FR-CPRO-15" in reason.message_fr and "BR-FR-CPRO-15" in reason.message_en
    assert json.dumps(reason.as_dict(), ensure_ascii=False)
