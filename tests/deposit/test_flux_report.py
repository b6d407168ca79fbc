"""Which invoices a flux report refuses: named in `listeErreurDP`, or all of a rejected flux."""

from __future__ import annotations

from schemas.payloads import FluxReport
from tasks.deposit.flux import refusal_label


def _report(state: str, **lists: object) -> FluxReport:
    return FluxReport.model_validate(
        {"codeRetour": 0, "libelle": "TRA_MSG_00.000", "etatCourantDepotFlux": state, **lists}
    )


def test_an_invoice_named_in_a_partly_integrated_flux_is_refused_with_its_label() -> None:
    report = _report(
        "IN_INTEGRE_PARTIEL",
        listeErreurDP=[
            {"numeroDP": "F-2", "libelleErreurDP": "Le code service est obligatoire."},
            {"numeroDP": "F-3", "libelleErreurDP": "Autre refus."},
        ],
    )
    assert refusal_label(report, "F-2") == "Le code service est obligatoire."
    assert refusal_label(report, "F-1") is None, "integrated with the rest of the flux"


def test_a_rejected_flux_refuses_its_invoice_with_the_technical_errors() -> None:
    report = _report(
        "IN_REJETE",
        listeErreurTechnique=[
            {"codeErreur": "ERR_XSD_001", "libelleErreur": "IRRECEVABILITE: cvc-elt.1.a"},
        ],
    )
    assert refusal_label(report, "F-1") == "ERR_XSD_001 IRRECEVABILITE: cvc-elt.1.a"


def test_an_integrated_flux_refuses_nothing() -> None:
    assert refusal_label(_report("IN_INTEGRE"), "F-1") is None
