"""How an invoice moves after deposit: an outcome, then dated steps the clock walks through.

Everything is decided at deposit (or after the supplier's `completer` / `recycler`) from the seed
and the invoice id alone, so two runs with the same seed produce the same statuses at the same
simulated times, whatever the order or speed of the requests. Each step keeps its own planned
timestamp: a clock advance of 60 days records every change in between with its own date, as
Chorus would have, instead of stamping them all with the time of the advance.

Shares (roughly): 70 % paid within 10-70 days, 8 % rejected, 8 % suspended (paid after
`completer`), 7 % to recycle (paid after `recycler`), 7 % never paid. Buyers that do not report
payment (`statutMiseEnPaiementNestPasRemonte`) stop at MANDATEE.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from chorus_pro.simulator.clock import PARIS
from chorus_pro.simulator.config import Outcome

__all__ = [
    "A_RECYCLER",
    "COMPLETEE",
    "DEPOSEE",
    "EN_COURS_ACHEMINEMENT",
    "MANDATEE",
    "MISE_A_DISPOSITION",
    "MISE_A_DISPOSITION_COMPTABLE",
    "MISE_EN_PAIEMENT",
    "OUTCOME_SHARES",
    "REJETEE",
    "SERVICE_FAIT",
    "SUSPENDUE",
    "PlannedStep",
    "after_completion",
    "after_recycling",
    "choose_outcome",
    "initial_plan",
    "split_due",
]

DEPOSEE = "DEPOSEE"
EN_COURS_ACHEMINEMENT = "EN_COURS_ACHEMINEMENT"
MISE_A_DISPOSITION = "MISE_A_DISPOSITION"
SERVICE_FAIT = "SERVICE_FAIT"
MANDATEE = "MANDATEE"
MISE_A_DISPOSITION_COMPTABLE = "MISE_A_DISPOSITION_COMPTABLE"
MISE_EN_PAIEMENT = "MISE_EN_PAIEMENT"
REJETEE = "REJETEE"
SUSPENDUE = "SUSPENDUE"
COMPLETEE = "COMPLETEE"
A_RECYCLER = "A_RECYCLER"

OUTCOME_SHARES: tuple[tuple[Outcome, float], ...] = (
    ("paid", 0.70),
    ("rejected", 0.08),
    ("suspended", 0.08),
    ("to_recycle", 0.07),
    ("never_paid", 0.07),
)

REJECTION_REASONS = (
    "Montant facturé non conforme au bon de commande.",
    "Facture adressée au mauvais destinataire, merci de vérifier le SIRET.",
    "Prestation non réalisée à la date de facturation.",
    "Doublon d'une facture déjà reçue.",
    "Taux de TVA erroné.",
)
SUSPENSION_REASONS = (
    "Bon de livraison manquant.",
    "Attestation de service fait manquante.",
    "RIB illisible, merci de joindre un RIB à jour.",
    "Détail des heures réalisées manquant.",
)
RECYCLING_REASONS = (
    "Service exécutant erroné.",
    "Numéro d'engagement inconnu.",
    "Le service destinataire n'est pas compétent pour cette facture.",
)

_WORKDAY_START_HOUR = 8
_WORKDAY_END_HOUR = 18


@dataclass(frozen=True)
class PlannedStep:
    at: datetime
    statut: str
    commentaire: str = ""


def _rng(seed: int, invoice_id: int, phase: int) -> random.Random:
    return random.Random(f"chorus-sim:{seed}:{invoice_id}:{phase}")  # noqa: S311 - replayable


def choose_outcome(seed: int, invoice_id: int) -> Outcome:
    roll = _rng(seed, invoice_id, 0).random()
    cumulative = 0.0
    for outcome, share in OUTCOME_SHARES:
        cumulative += share
        if roll < cumulative:
            return outcome
    return OUTCOME_SHARES[-1][0]


class _Planner:
    """Builds steps with strictly increasing, minute-aligned times."""

    def __init__(self, rng: random.Random, start: datetime) -> None:
        self.rng = rng
        self.start = start
        self.last = start
        self.steps: list[PlannedStep] = []

    def _add(self, at: datetime, statut: str, commentaire: str) -> None:
        if at <= self.last:
            at = self.last + timedelta(minutes=self.rng.randint(1, 30))
        self.last = at
        self.steps.append(PlannedStep(at, statut, commentaire))

    def after_minutes(self, low: int, high: int, statut: str, commentaire: str = "") -> None:
        self._add(self.last + timedelta(minutes=self.rng.randint(low, high)), statut, commentaire)

    def on_day(self, day: int, statut: str, commentaire: str = "") -> None:
        """Some time during office hours, `day` days after the start."""
        moment = time(
            self.rng.randint(_WORKDAY_START_HOUR, _WORKDAY_END_HOUR - 1), self.rng.randint(0, 59)
        )
        local_day = self.start.astimezone(PARIS).date() + timedelta(days=day)
        self._add(datetime.combine(local_day, moment, tzinfo=PARIS), statut, commentaire)


def _payment(planner: _Planner, total_days: int, reports_payment: bool) -> None:
    rng = planner.rng
    if rng.random() < 0.6:
        planner.on_day(max(1, round(total_days * 0.3)), SERVICE_FAIT)
    if not reports_payment or rng.random() < 0.8:
        planner.on_day(max(2, round(total_days * 0.7)), MANDATEE)
    if not reports_payment:
        return
    if rng.random() < 0.3:
        planner.on_day(max(3, round(total_days * 0.85)), MISE_A_DISPOSITION_COMPTABLE)
    planner.on_day(total_days, MISE_EN_PAIEMENT)


def initial_plan(
    seed: int, invoice_id: int, deposited_at: datetime, outcome: Outcome, reports_payment: bool
) -> list[PlannedStep]:
    """Steps after DEPOSEE (which the caller records at deposit time)."""
    rng = _rng(seed, invoice_id, 0)
    rng.random()  # the draw choose_outcome used
    planner = _Planner(rng, deposited_at)
    planner.after_minutes(1, 15, EN_COURS_ACHEMINEMENT)
    planner.after_minutes(5, 90, MISE_A_DISPOSITION)
    if outcome == "paid":
        _payment(planner, rng.randint(10, 70), reports_payment)
    elif outcome == "rejected":
        planner.on_day(rng.randint(2, 20), REJETEE, rng.choice(REJECTION_REASONS))
    elif outcome == "suspended":
        planner.on_day(rng.randint(2, 15), SUSPENDUE, rng.choice(SUSPENSION_REASONS))
    elif outcome == "to_recycle":
        planner.on_day(rng.randint(1, 5), A_RECYCLER, rng.choice(RECYCLING_REASONS))
    elif rng.random() < 0.5:  # never paid: the buyer may still certify the service
        planner.on_day(rng.randint(5, 30), SERVICE_FAIT)
    return planner.steps


def after_completion(
    seed: int, invoice_id: int, phase: int, completed_at: datetime, reports_payment: bool
) -> list[PlannedStep]:
    """Once COMPLETEE, the buyer resumes processing and pays (simulator simplification)."""
    rng = _rng(seed, invoice_id, phase)
    planner = _Planner(rng, completed_at)
    _payment(planner, rng.randint(5, 40), reports_payment)
    return planner.steps


def after_recycling(
    seed: int, invoice_id: int, phase: int, routed_at: datetime, reports_payment: bool
) -> list[PlannedStep]:
    """Deposited again (DEPOSEE recorded by the caller, as AIFE's recycle example answers),
    routed, delivered, then paid."""
    rng = _rng(seed, invoice_id, phase)
    planner = _Planner(rng, routed_at)
    planner.after_minutes(1, 15, EN_COURS_ACHEMINEMENT)
    planner.after_minutes(5, 90, MISE_A_DISPOSITION)
    _payment(planner, rng.randint(10, 70), reports_payment)
    return planner.steps


def split_due(
    plan: list[PlannedStep], now: datetime
) -> tuple[list[PlannedStep], list[PlannedStep]]:
    """(steps whose time has come, steps still in the future); the plan is in time order."""
    due = [step for step in plan if step.at <= now]
    return due, plan[len(due) :]
