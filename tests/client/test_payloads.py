"""The payload models: exact field names, tolerant parsing, amounts and dates on the wire."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from schemas.payloads import (
    CHORUS_TIMEZONE,
    FluxReport,
    InvoiceHistory,
    InvoiceSearchCriteria,
    InvoiceSearchPage,
    MontantTotal,
    ServicePage,
    StructureDetail,
    SubmitInvoiceRequest,
    SubmitInvoiceResponse,
    parse_chorus_date,
    parse_chorus_datetime,
)
from tests.client.examples import SUBMIT_EXAMPLE


def test_date_forms() -> None:
    assert parse_chorus_date("2025-11-05") == date(2025, 11, 5)
    assert parse_chorus_date("2018-02-16T15:10:25.536+01:00") == date(2018, 2, 16)
    assert parse_chorus_date("2025-11-05 10:01") == date(2025, 11, 5)
    assert parse_chorus_date("") is None


def test_datetime_with_offset_keeps_the_offset() -> None:
    parsed = parse_chorus_datetime("2018-02-16T15:10:25.536+01:00")
    assert parsed == datetime(2018, 2, 16, 15, 10, 25, 536000, tzinfo=timezone(timedelta(hours=1)))


def test_datetime_with_z_is_utc() -> None:
    assert parse_chorus_datetime("2026-09-14T20:57:02Z").utcoffset() == timedelta(0)


def test_minutes_form_is_french_local_time() -> None:
    winter = parse_chorus_datetime("2025-11-12 16:40")
    assert winter == datetime(2025, 11, 12, 16, 40, tzinfo=CHORUS_TIMEZONE)
    assert winter.utcoffset() == timedelta(hours=1)
    summer = parse_chorus_datetime("2025-07-12 16:40")
    assert summer.utcoffset() == timedelta(hours=2)


def test_bare_date_in_a_timestamp_field_is_midnight_in_paris() -> None:
    assert parse_chorus_datetime("2025-11-05") == datetime(2025, 11, 5, tzinfo=CHORUS_TIMEZONE)


def test_naive_datetime_object_gets_the_chorus_zone() -> None:
    assert parse_chorus_datetime(datetime(2025, 1, 2, 3, 4)).tzinfo is CHORUS_TIMEZONE


def test_unparseable_timestamp_is_a_validation_error() -> None:
    with pytest.raises(ValidationError):
        FluxReport.model_validate({"codeRetour": 0, "dateDepotFlux": "16/02/2018"})


def test_submit_request_round_trips_the_reference_example_with_numbers() -> None:
    request = SubmitInvoiceRequest.model_validate(SUBMIT_EXAMPLE)
    assert request.montantTotal.montantTtcTotal == Decimal("600")
    assert isinstance(request.lignePoste[0].lignePosteMontantUnitaireHT, Decimal)
    wire = json.loads(request.model_dump_json(exclude_none=True))
    assert wire["montantTotal"] == {
        "montantHtTotal": 500,
        "montantTVA": 100,
        "montantTtcTotal": 600,
        "montantAPayer": 600,
    }
    assert wire["destinataire"] == SUBMIT_EXAMPLE["destinataire"]
    assert wire["references"] == SUBMIT_EXAMPLE["references"]
    assert wire["modeDepot"] == "SAISIE_API"
    assert wire["lignePoste"][0]["lignePosteQuantite"] == 10


def test_amounts_are_json_numbers_not_strings() -> None:
    totals = MontantTotal(
        montantHtTotal=Decimal("1234.56"),
        montantTVA=Decimal("246.912"),
        montantTtcTotal=Decimal("1481.472"),
        montantAPayer=Decimal("0.1"),
    )
    text = totals.model_dump_json()
    assert '"montantHtTotal":1234.56' in text
    assert '"montantTVA":246.912' in text
    assert '"montantAPayer":0.1' in text


def test_an_amount_a_float_cannot_carry_is_refused_not_rounded() -> None:
    totals = MontantTotal(
        montantHtTotal=Decimal("1234567890123.456789"),
        montantTVA=Decimal(0),
        montantTtcTotal=Decimal(0),
        montantAPayer=Decimal(0),
    )
    with pytest.raises(ValueError, match="too many digits"):
        totals.model_dump_json()


def test_python_dump_keeps_decimals() -> None:
    request = SubmitInvoiceRequest.model_validate(SUBMIT_EXAMPLE)
    assert request.model_dump()["montantTotal"]["montantAPayer"] == Decimal("600")


def test_request_dates_go_out_as_iso_dates() -> None:
    request = SubmitInvoiceRequest.model_validate({**SUBMIT_EXAMPLE, "dateFacture": "2025-11-05"})
    assert json.loads(request.model_dump_json())["dateFacture"] == "2025-11-05"


def test_criteria_timestamps_go_out_with_their_offset() -> None:
    criteria = InvoiceSearchCriteria(
        periodeDateHeureEtatCourantDu=datetime(2026, 1, 2, 3, 4, 5, tzinfo=CHORUS_TIMEZONE)
    )
    wire = json.loads(criteria.model_dump_json(exclude_none=True))
    assert wire == {"periodeDateHeureEtatCourantDu": "2026-01-02T03:04:05+01:00"}


def test_unknown_fields_are_kept() -> None:
    response = SubmitInvoiceResponse.model_validate(
        {
            "codeRetour": 0,
            "libelle": "GCU_MSG_01_000",
            "identifiantFactureCPP": 8316848,
            "dateDepot": "2025-11-05",
            "champAjouteEn2027": {"x": 1},
        }
    )
    assert response.dateDepot == date(2025, 11, 5)
    assert response.model_extra == {"champAjouteEn2027": {"x": 1}}


def test_search_page_parses_the_reference_example() -> None:
    page = InvoiceSearchPage.model_validate(
        {
            "codeRetour": 0,
            "libelle": "TRA_MSG_00.000",
            "parametresRetour": {
                "pageCourante": 1,
                "pages": 1,
                "nbResultatsParPage": 50,
                "total": 1,
            },
            "listeFactures": [
                {
                    "identifiantFactureCPP": 4321098,
                    "numeroFacture": "F-2025-0042",
                    "statut": "MISE_A_DISPOSITION",
                    "dateDepot": "2026-09-14",
                    "dateHeureEtatCourant": "2026-09-14T22:57:02+02:00",
                    "montantTTC": 600.0,
                    "taille": 1234,
                }
            ],
        }
    )
    invoice = page.listeFactures[0]
    assert invoice.statut == "MISE_A_DISPOSITION"
    assert invoice.montantTTC == Decimal("600.0")
    assert invoice.dateHeureEtatCourant is not None
    assert invoice.dateHeureEtatCourant.utcoffset() == timedelta(hours=2)
    assert page.parametresRetour.total == 1


def test_history_parses_minute_timestamps() -> None:
    history = InvoiceHistory.model_validate(
        {
            "codeRetour": 0,
            "idFacture": 8316848,
            "statutCourantCode": "SUSPENDUE",
            "historiquesDesStatuts": {
                "histoStatut": [
                    {
                        "histoStatutId": 1,
                        "histoStatutCode": "DEPOSEE",
                        "histoStatutDatePassage": "2025-11-05 10:01",
                    },
                    {
                        "histoStatutId": 3,
                        "histoStatutCode": "SUSPENDUE",
                        "histoStatutDatePassage": "2025-11-12T16:40:00+01:00",
                    },
                ],
                "pagesHistoStatut": 1,
            },
        }
    )
    first, last = history.historiquesDesStatuts.histoStatut
    assert first.histoStatutDatePassage == datetime(2025, 11, 5, 10, 1, tzinfo=CHORUS_TIMEZONE)
    assert last.histoStatutDatePassage is not None
    assert last.histoStatutDatePassage.utcoffset() == timedelta(hours=1)


def test_structure_flags_use_the_swagger_names() -> None:
    detail = StructureDetail.model_validate(
        {
            "codeRetour": 0,
            "informationGenerales": {"idStructureCPP": 26311042},
            "parametres": {
                "codeServiceDoitEtreRenseigne": True,
                "numeroEJDoitEtreRenseigne": False,
            },
        }
    )
    assert detail.parametres.codeServiceDoitEtreRenseigne is True
    assert detail.parametres.gestionNumeroEJOuCodeService is False


def test_service_dates_in_minutes_form() -> None:
    page = ServicePage.model_validate(
        {
            "listeServices": [
                {
                    "idService": 1,
                    "codeService": "S1",
                    "estActif": True,
                    "dateDbtService": "2020-01-01 00:00",
                }
            ]
        }
    )
    assert page.listeServices[0].dateDbtService == datetime(2020, 1, 1, tzinfo=CHORUS_TIMEZONE)
    assert page.parametresRetour.pages == 1
