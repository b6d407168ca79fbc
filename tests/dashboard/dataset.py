"""A small fixed warehouse whose dashboard figures are computed by hand in the tests.

Dates are relative to today (UTC) because the views judge lateness as of today: "deposited 45 days
ago, 30-day delay" is 15 days late whatever day the tests run. Three entrepreneurs in two structures,
five buyers (one of each legal kind, and one that never reports payment), and invoices that are
paid, paid late, overdue, rejected (handled by a credit note, or not), suspended (resumed, or not),
to recycle, invalid, waiting, refused at deposit, and one found only on Chorus Pro.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from schemas.warehouse import BuyerStructure, Entrepreneur, Invoice, PipelineRun, StatusEvent

ANTIGONE = "51858054300107"
ARTENREEL = "47840796800054"
#: The single-account settings' cooperative, which owns both structures.
COOPERATIVE = "cooproduction"

MAIRIE = ("21670447800017", "MAIRIE DE SCHILTIGHEIM")
CHU = ("26679006200019", "CENTRE HOSPITALIER DE SIMULVILLE")
REGIE = ("20009004100019", "REGIE DES TRANSPORTS DE L'ILL")
DRAC = ("11000907300013", "DIRECTION REGIONALE DES AFFAIRES CULTURELLES")
NOREPORT = ("21670482500018", "COMMUNE DE SIMULHEIM")

ENTREPRENEURS = {
    "ALICE": (ANTIGONE, "Alice Martin"),
    "BRUNO": (ANTIGONE, "Bruno Keller"),
    "CLARA": (ARTENREEL, "Clara Weiss"),
}


def today() -> date:
    return datetime.now(UTC).date()


def day(offset: int) -> date:
    """`offset` days from today (negative: in the past)."""
    return today() + timedelta(days=offset)


def at(offset: int, hour: int = 10) -> datetime:
    return datetime.combine(day(offset), time(hour), tzinfo=UTC)


@dataclass(frozen=True)
class Spec:
    number: str
    entrepreneur: str | None
    buyer: tuple[str, str]
    ttc: int
    state: str = "deposited"
    deposited: int | None = None
    events: tuple[tuple[str, int, str | None], ...] = ()
    invoice_type: str = "FACTURE"
    original: str | None = None
    supplier: str | None = None
    error: str | None = None


SPECS = (
    # Alice: overdue, paid late, not yet due, rejected then credited, the credit note.
    Spec(
        "A1", "ALICE", MAIRIE, 120_000, deposited=-45, events=(("MISE_A_DISPOSITION", -45, None),)
    ),
    Spec(
        "A2",
        "ALICE",
        CHU,
        240_000,
        deposited=-70,
        events=(("MISE_A_DISPOSITION", -70, None), ("MISE_EN_PAIEMENT", -10, None)),
    ),
    Spec("A3", "ALICE", REGIE, 360_000, deposited=-40, events=(("MISE_A_DISPOSITION", -40, None),)),
    Spec(
        "A4",
        "ALICE",
        MAIRIE,
        50_000,
        deposited=-100,
        events=(("REJETEE", -95, "Montant facturé non conforme au bon de commande."),),
    ),
    Spec(
        "A5",
        "ALICE",
        MAIRIE,
        50_000,
        deposited=-90,
        events=(("MISE_A_DISPOSITION", -90, None),),
        invoice_type="AVOIR",
        original="A4",
    ),
    # Bruno: suspended (still), suspended then paid late, settled at the mandate, overdue with a
    # buyer that never reports payment, invalid.
    Spec(
        "B1",
        "BRUNO",
        DRAC,
        80_000,
        deposited=-60,
        events=(
            ("MISE_A_DISPOSITION", -60, None),
            ("SUSPENDUE", -50, "Bon de livraison manquant."),
        ),
    ),
    Spec(
        "B2",
        "BRUNO",
        MAIRIE,
        100_000,
        deposited=-80,
        events=(
            ("SUSPENDUE", -75, "Attestation de service fait manquante."),
            ("COMPLETEE", -70, None),
            ("MISE_EN_PAIEMENT", -20, None),
        ),
    ),
    Spec("B3", "BRUNO", NOREPORT, 150_000, deposited=-50, events=(("MANDATEE", -20, None),)),
    Spec("B4", "BRUNO", NOREPORT, 70_000, deposited=-45, events=(("SERVICE_FAIT", -40, None),)),
    Spec("B5", "BRUNO", MAIRIE, 30_000, state="invalid"),
    # Clara: not yet due, recycled then paid on time, waiting, refused at deposit, rejected.
    Spec("C1", "CLARA", CHU, 90_000, deposited=-20, events=(("DEPOSEE", -20, None),)),
    Spec(
        "C2",
        "CLARA",
        REGIE,
        500_000,
        deposited=-90,
        events=(
            ("A_RECYCLER", -88, "Service exécutant erroné."),
            ("MISE_A_DISPOSITION", -80, None),
            ("MISE_EN_PAIEMENT", -30, None),
        ),
    ),
    Spec("C3", "CLARA", CHU, 45_000, state="ready"),
    Spec(
        "C4",
        "CLARA",
        MAIRIE,
        65_000,
        state="deposit_failed",
        error="Le SIRET du destinataire est inconnu.",
    ),
    Spec(
        "C5",
        "CLARA",
        MAIRIE,
        30_000,
        deposited=-12,
        events=(("REJETEE", -5, "Taux de TVA erroné."),),
    ),
    # Deposited by hand on the portal, found by the reconciliation.
    Spec(
        "X1",
        None,
        DRAC,
        20_000,
        state="external",
        deposited=-10,
        events=(("MISE_A_DISPOSITION", -10, None),),
        supplier=ANTIGONE,
    ),
)


def supplier_of(spec: Spec) -> str:
    if spec.supplier:
        return spec.supplier
    assert spec.entrepreneur is not None
    return ENTREPRENEURS[spec.entrepreneur][0]


def number(spec_number: str) -> str:
    """Invoice numbers that cannot be mistaken for other text on a page."""
    return f"FC-TEST-{spec_number}"


def load(engine: Engine, cooperative: str = COOPERATIVE) -> dict[str, int]:
    """Writes the dataset, all of it `cooperative`'s; returns invoice ids by spec number."""
    ids: dict[str, int] = {}
    with Session(engine) as session:
        for code, (siret, name) in ENTREPRENEURS.items():
            session.add(
                Entrepreneur(
                    cooperative=cooperative,
                    supplier_siret=siret,
                    code=code,
                    name=name,
                    email=f"{code.lower()}@example.org",
                )
            )
        session.add(
            BuyerStructure(
                siret=NOREPORT[0],
                designation=NOREPORT[1],
                payment_not_reported=True,
                expires_at=at(30),
            )
        )
        for spec in SPECS:
            invoice = _invoice(spec, cooperative)
            session.add(invoice)
            session.flush()
            assert invoice.id is not None
            ids[spec.number] = invoice.id
            for status, offset, comment in spec.events:
                session.add(
                    StatusEvent(
                        invoice_id=invoice.id, status=status, status_at=at(offset), comment=comment
                    )
                )
        session.add(
            PipelineRun(
                flow="ingest",
                started_at=at(-1, 8),
                finished_at=at(-1, 8) + timedelta(seconds=90),
                outcome="completed",
                counts_json='{"invoices": 16, "ready": 14}',
            )
        )
        session.add(
            PipelineRun(
                flow="reconcile",
                started_at=at(-1, 9),
                finished_at=at(-1, 9) + timedelta(seconds=5),
                outcome="failed",
                message="ChorusServerError: 503",
            )
        )
        session.commit()
    return ids


def _invoice(spec: Spec, cooperative: str) -> Invoice:
    last = spec.events[-1] if spec.events else None
    return Invoice(
        cooperative=cooperative,
        supplier_siret=supplier_of(spec),
        invoice_number=number(spec.number),
        invoice_type=spec.invoice_type,
        original_invoice_number=number(spec.original) if spec.original else None,
        invoice_date=day(spec.deposited - 2 if spec.deposited is not None else -3),
        entrepreneur_code=spec.entrepreneur,
        buyer_siret=spec.buyer[0],
        buyer_name=spec.buyer[1],
        amount_ht_cents=round(spec.ttc / 1.2),
        amount_vat_cents=spec.ttc - round(spec.ttc / 1.2),
        total_ttc_cents=spec.ttc,
        state=spec.state,
        deposit_date=day(spec.deposited) if spec.deposited is not None else None,
        chorus_invoice_id=1000 + len(spec.number) if spec.deposited is not None else None,
        deposit_error_label=spec.error,
        current_status=last[0] if last else None,
        current_status_at=at(last[1]) if last else None,
        current_status_comment=last[2] if last else None,
    )
