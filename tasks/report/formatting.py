"""French number, money and date formatting for the pages' text (tables format in the browser)."""

from __future__ import annotations

from datetime import datetime

from chorus_etl.french import format_euros, group_digits

#: What the cooperative's people call each stage of `v_invoice_current.stage`.
STAGE_LABELS = {
    "invalid": "Invalide (à corriger)",
    "pending": "En attente de dépôt",
    "deposit_failed": "Dépôt refusé",
    "conflict": "Numéro déjà pris (à décider)",
    "in_progress": "En cours de traitement",
    "paused": "Suspendue / à recycler",
    "paid": "Payée",
    "closed": "Rejetée / close",
}
KIND_LABELS = {
    "state": "État",
    "local": "Collectivité",
    "hospital": "Hôpital",
    "public_company": "Entreprise publique",
}
STATUS_LABELS = {
    "REJETEE": "Rejet",
    "SUSPENDUE": "Suspension",
    "A_RECYCLER": "À recycler",
}
_THIN = "\u202f"


def integer(value: int | float) -> str:
    return group_digits(value, _THIN)


def counted(n: int, one: str, many: str) -> str:
    """`counted(1, "facture payée", "factures payées")` → "1 facture payée"."""
    return f"{integer(n)} {one if n in (0, 1) else many}"


def euros(cents: int) -> str:
    return format_euros(cents, _THIN)


def euros_short(cents: int) -> str:
    """Whole euros, for chart labels where cents are noise."""
    return f"{integer(round(cents / 100))}\u00a0€"


def moment(value: datetime | None) -> str:
    return value.strftime("%d/%m/%Y %H:%M UTC") if value else ""


def days(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}".replace(".", ",").removesuffix(",0") + " j"
