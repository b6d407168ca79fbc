"""The views' figures against hand-computed expectations on the fixed dataset, on both engines.

Interest by hand: TTC × (2.15 + 8) % × days late / 365, to the nearest cent. A1: 1,200 € late 15
days at a 30-day buyer → 5.0055 € → 501 cents; A2: 2,400 € paid 10 days after a hospital's 50
days → 667; B2: 1,000 € paid 30 days late → 834; B4: 700 €, 15 days → 292. Each late invoice also
owes the €40 indemnity.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from schemas import rules, views
from schemas.views import (
    ENTREPRENEUR_SUMMARY,
    INVOICE_CURRENT,
    INVOICE_LIFECYCLE,
    PIPELINE_RUN,
    REJECTION,
    STRUCTURE_SUMMARY,
)
from schemas.warehouse import Invoice
from tasks.reconcile import overdue
from tasks.report.setting_views import sync_setting_views
from tests.dashboard import dataset
from tests.dashboard.dataset import ANTIGONE, ARTENREEL, day, number
from tests.dashboard.helpers import one, records


def _lifecycle(engine: Engine, spec: str) -> dict[str, object]:
    return one(engine, INVOICE_LIFECYCLE, invoice_number=number(spec))


# spec: stage, paid (days from today), days to payment, kind, delay, due (days from today),
#       overdue, days late, interest cents, indemnity cents, payment inferred
LIFECYCLE = {
    "A1": ("in_progress", None, None, "local", 30, -15, 1, 15, 501, 4000, 0),
    "A2": ("paid", -10, 60, "hospital", 50, -20, 0, 10, 667, 4000, 0),
    "A3": ("in_progress", None, None, "public_company", 60, 20, 0, 0, 0, 0, 0),
    "A4": ("closed", None, None, "local", 30, -70, 0, 0, 0, 0, 0),
    "A5": ("in_progress", None, None, "local", None, None, 0, 0, 0, 0, 0),
    "B1": ("paused", None, None, "state", 30, -30, 0, 0, 0, 0, 0),
    "B2": ("paid", -20, 60, "local", 30, -50, 0, 30, 834, 4000, 0),
    "B3": ("paid", -20, 30, "local", 30, -20, 0, 0, 0, 0, 1),
    "B4": ("in_progress", None, None, "local", 30, -15, 1, 15, 292, 4000, 0),
    "B5": ("invalid", None, None, "local", None, None, 0, 0, 0, 0, 0),
    "C1": ("in_progress", None, None, "hospital", 50, 30, 0, 0, 0, 0, 0),
    "C2": ("paid", -30, 60, "public_company", 60, -30, 0, 0, 0, 0, 0),
    "C3": ("pending", None, None, "hospital", None, None, 0, 0, 0, 0, 0),
    "C4": ("deposit_failed", None, None, "local", None, None, 0, 0, 0, 0, 0),
    "C5": ("closed", None, None, "local", 30, 18, 0, 0, 0, 0, 0),
    "X1": ("in_progress", None, None, "state", 30, 20, 0, 0, 0, 0, 0),
}


def _offset(value: object) -> int | None:
    if value is None:
        return None
    assert hasattr(value, "toordinal")
    return int(value.toordinal() - day(0).toordinal())


def test_lifecycle_of_each_invoice(loaded: Engine) -> None:
    by_number = {r["invoice_number"]: r for r in records(loaded, INVOICE_LIFECYCLE)}
    assert len(by_number) == len(LIFECYCLE)
    for spec, expected in LIFECYCLE.items():
        row = by_number[number(spec)]
        got = (
            row["stage"],
            _offset(row["paid_date"]),
            row["days_to_payment"],
            row["buyer_kind"],
            row["legal_delay_days"],
            _offset(row["due_date"]),
            row["is_overdue"],
            row["days_late"],
            row["interest_cents"],
            row["indemnity_cents"],
            row["payment_inferred"],
        )
        assert got == expected, spec
        assert row["as_of_date"] == day(0)
        assert row["late_interest_rate_bp"] == 1015


def test_interest_agrees_with_the_alerts_formula(loaded: Engine) -> None:
    late = [r for r in records(loaded, INVOICE_LIFECYCLE) if r["days_late"]]
    assert len(late) == 4
    for row in late:
        assert row["interest_cents"] == rules.late_interest_cents(
            int(row["total_ttc_cents"]), int(row["days_late"]), 1015
        )


def test_overdue_flags_are_exactly_the_invoices_the_alerts_chase(loaded: Engine) -> None:
    flagged = {
        (r["invoice_id"], r["legal_delay_days"], r["days_late"], r["interest_cents"])
        for r in records(loaded, INVOICE_LIFECYCLE, is_overdue=1)
    }
    chased = {
        (o.invoice_id, o.delay_days, o.days_late, o.interest_cents)
        for o in overdue.find_overdue(loaded, day(0), {}, 2.15)
    }
    assert flagged == chased
    assert len(flagged) == 2


def test_current_invoices(loaded: Engine) -> None:
    a1 = one(loaded, INVOICE_CURRENT, invoice_number=number("A1"))
    assert a1["supplier_siret"] == ANTIGONE
    assert a1["entrepreneur_name"] == "Alice Martin"
    assert a1["buyer_name"] == "MAIRIE DE SCHILTIGHEIM"
    assert (a1["amount_ht_eur"], a1["amount_vat_eur"], a1["total_ttc_eur"]) == (1000, 200, 1200)
    assert (a1["state"], a1["current_status"], a1["stage"]) == (
        "deposited",
        "MISE_A_DISPOSITION",
        "in_progress",
    )
    assert a1["current_status_date"] == a1["deposit_date"] == day(-45)
    b3 = one(loaded, INVOICE_CURRENT, invoice_number=number("B3"))
    assert (b3["payment_not_reported"], b3["stage"], b3["paid_at"]) == (1, "paid", dataset.at(-20))
    c4 = one(loaded, INVOICE_CURRENT, invoice_number=number("C4"))
    assert c4["deposit_error_label"] == "Le SIRET du destinataire est inconnu."
    x1 = one(loaded, INVOICE_CURRENT, invoice_number=number("X1"))
    assert (x1["state"], x1["entrepreneur_code"], x1["entrepreneur_name"]) == (
        "external",
        None,
        None,
    )
    assert len(records(loaded, INVOICE_CURRENT)) == len(dataset.SPECS)


def _figures(row: dict[str, object]) -> dict[str, object]:
    figures = {k: v for k, v in row.items() if v and k.endswith(("_count", "_cents"))}
    return {k: v for k, v in figures.items() if k != "entrepreneur_count"} | {
        "median_days_to_payment": row["median_days_to_payment"]
    }


def test_entrepreneur_summaries(loaded: Engine) -> None:
    alice = one(loaded, ENTREPRENEUR_SUMMARY, entrepreneur_code="ALICE")
    assert alice["entrepreneur_name"] == "Alice Martin"
    assert _figures(alice) == {
        "invoice_count": 5,
        "total_ttc_cents": 820_000,
        "in_progress_count": 3,
        "in_progress_ttc_cents": 530_000,
        "paid_count": 1,
        "paid_ttc_cents": 240_000,
        "closed_count": 1,
        "closed_ttc_cents": 50_000,
        "outstanding_count": 2,
        "outstanding_ttc_cents": 480_000,
        "overdue_count": 1,
        "overdue_ttc_cents": 120_000,
        "paid_late_count": 1,
        "interest_cents": 501 + 667,
        "indemnity_cents": 8000,
        "median_days_to_payment": 60.0,
        "rejected_count": 1,
    }
    bruno = one(loaded, ENTREPRENEUR_SUMMARY, entrepreneur_code="BRUNO")
    assert _figures(bruno) == {
        "invoice_count": 5,
        "total_ttc_cents": 430_000,
        "invalid_count": 1,
        "invalid_ttc_cents": 30_000,
        "in_progress_count": 1,
        "in_progress_ttc_cents": 70_000,
        "paused_count": 1,
        "paused_ttc_cents": 80_000,
        "paid_count": 2,
        "paid_ttc_cents": 250_000,
        "outstanding_count": 2,
        "outstanding_ttc_cents": 150_000,
        "overdue_count": 1,
        "overdue_ttc_cents": 70_000,
        "paid_late_count": 1,
        "interest_cents": 834 + 292,
        "indemnity_cents": 8000,
        "median_days_to_payment": 45.0,
        "returned_count": 2,
    }
    clara = one(loaded, ENTREPRENEUR_SUMMARY, entrepreneur_code="CLARA")
    assert _figures(clara) == {
        "invoice_count": 5,
        "total_ttc_cents": 730_000,
        "pending_count": 1,
        "pending_ttc_cents": 45_000,
        "deposit_failed_count": 1,
        "deposit_failed_ttc_cents": 65_000,
        "in_progress_count": 1,
        "in_progress_ttc_cents": 90_000,
        "paid_count": 1,
        "paid_ttc_cents": 500_000,
        "closed_count": 1,
        "closed_ttc_cents": 30_000,
        "outstanding_count": 1,
        "outstanding_ttc_cents": 90_000,
        "median_days_to_payment": 60.0,
        "rejected_count": 1,
        "returned_count": 1,
    }
    nobody = one(loaded, ENTREPRENEUR_SUMMARY, entrepreneur_code=None)
    assert (nobody["invoice_count"], nobody["outstanding_ttc_cents"]) == (1, 20_000)
    assert nobody["median_days_to_payment"] is None


def test_structure_summaries(loaded: Engine) -> None:
    antigone = one(loaded, STRUCTURE_SUMMARY, supplier_siret=ANTIGONE)
    assert {
        k: antigone[k]
        for k in (
            "entrepreneur_count",
            "invoice_count",
            "total_ttc_cents",
            "outstanding_count",
            "outstanding_ttc_cents",
            "overdue_count",
            "overdue_ttc_cents",
            "interest_cents",
            "indemnity_cents",
            "median_days_to_payment",
            "rejected_count",
            "returned_count",
        )
    } == {
        "entrepreneur_count": 2,
        "invoice_count": 11,
        "total_ttc_cents": 1_270_000,
        "outstanding_count": 5,
        "outstanding_ttc_cents": 650_000,
        "overdue_count": 2,
        "overdue_ttc_cents": 190_000,
        "interest_cents": 501 + 667 + 834 + 292,
        "indemnity_cents": 16_000,
        "median_days_to_payment": 60.0,
        "rejected_count": 1,
        "returned_count": 2,
    }
    artenreel = one(loaded, STRUCTURE_SUMMARY, supplier_siret=ARTENREEL)
    clara = one(loaded, ENTREPRENEUR_SUMMARY, entrepreneur_code="CLARA")
    assert artenreel["entrepreneur_count"] == 1
    assert _figures(artenreel) == _figures(clara)


def test_rejections_and_suspensions(loaded: Engine) -> None:
    got = {
        r["invoice_number"]: (r["status"], _offset(r["status_date"]), r["reason"], r["handled"])
        for r in records(loaded, REJECTION)
    }
    assert got == {
        number("A4"): ("REJETEE", -95, "Montant facturé non conforme au bon de commande.", 1),
        number("B1"): ("SUSPENDUE", -50, "Bon de livraison manquant.", 0),
        number("B2"): ("SUSPENDUE", -75, "Attestation de service fait manquante.", 1),
        number("C2"): ("A_RECYCLER", -88, "Service exécutant erroné.", 1),
        number("C5"): ("REJETEE", -5, "Taux de TVA erroné.", 0),
    }


def test_pipeline_runs(loaded: Engine) -> None:
    got = [
        (r["flow"], r["outcome"], r["duration_seconds"], r["counts_json"], r["message"])
        for r in records(loaded, PIPELINE_RUN)
    ]
    assert sorted(got) == [
        ("ingest", "completed", 90, '{"invoices": 16, "ready": 14}', None),
        ("reconcile", "failed", 5, "{}", "ChorusServerError: 503"),
    ]


def test_changed_settings_reach_the_views(any_warehouse: Engine) -> None:
    """A new ECB rate and a buyer counted as a hospital: rewritten once, then left alone."""
    loaded = any_warehouse
    dataset.load(loaded)
    changed = {dataset.MAIRIE[0]: "hospital"}
    assert sync_setting_views(loaded, ecb_rate_percent=3.15, buyer_kinds=changed)
    assert not sync_setting_views(loaded, ecb_rate_percent=3.15, buyer_kinds=changed)
    a1 = _lifecycle(loaded, "A1")
    assert (a1["buyer_kind"], a1["legal_delay_days"], a1["is_overdue"]) == ("hospital", 50, 0)
    b2 = _lifecycle(loaded, "B2")
    assert (b2["late_interest_rate_bp"], b2["days_late"], b2["interest_cents"]) == (1115, 10, 305)
    assert _lifecycle(loaded, "A2")["interest_cents"] == 733
    assert sync_setting_views(loaded, ecb_rate_percent=2.15, buyer_kinds={})
    assert _lifecycle(loaded, "A1")["interest_cents"] == 501


def test_unknown_buyer_kind_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        views.buyer_kind_setting_sql({"21670447800017": "ministry"})


BUYER_NAMES = [
    "CENTRE HOSPITALIER DE SIMULVILLE",
    "Hôpital civil",
    "HÔPITAL CIVIL",
    "hopital de jour",
    "CHU de Strasbourg",
    "chu-nord",
    "C.H.U. Nord",
    "(CHU)",
    "CHR d’Orléans",
    "CHUTE LIBRE",
    "EPSM du Rhin",
    "Régie des eaux",
    "RÉGIE MUNICIPALE",
    "regie",
    "EPIC Musées",
    "L'EPIC",
    "SEPICTECH",
    "Office public de l'habitat",
    "SOCIETE PUBLIQUE LOCALE",
    "Société publique",
    "MAIRIE DE SCHILTIGHEIM",
    "",
    None,
]


def test_buyer_kinds_from_names_agree_with_the_alerts(any_warehouse: Engine) -> None:
    """The SQL approximation of the name patterns gives what `tasks.reconcile.overdue.buyer_kind` gives."""
    cases = [
        (siret, name) for name in BUYER_NAMES for siret in ("11000907300013", "21670447800017")
    ] + [(None, "COMMUNE")]
    with Session(any_warehouse) as session:
        for index, (siret, name) in enumerate(cases):
            session.add(
                Invoice(
                    cooperative="cooproduction",
                    supplier_siret=ANTIGONE,
                    invoice_number=f"K{index}",
                    buyer_siret=siret,
                    buyer_name=name,
                    state="deposited",
                    deposit_date=day(-1),
                )
            )
        session.commit()
    kinds = {
        r["invoice_number"]: r["buyer_kind"] for r in records(any_warehouse, INVOICE_LIFECYCLE)
    }
    for index, (siret, name) in enumerate(cases):
        assert kinds[f"K{index}"] == rules.buyer_kind(siret, name, {}), (siret, name)


def test_the_views_are_generated_from_the_rules() -> None:
    lifecycle = views.INVOICE_LIFECYCLE.sql or ""
    for kind, days in rules.DELAYS.items():
        assert f"WHEN '{kind}' THEN {days}" in lifecycle
    assert (
        rules.late_interest_sql(
            "l.total_ttc_cents", "l.late_interest_rate_bp", "l.signed_days_late"
        )
        in lifecycle
    )
    assert str(rules.INDEMNITY_CENTS) in lifecycle
    assert rules.ecb_rate_bp(2.15) == 215
