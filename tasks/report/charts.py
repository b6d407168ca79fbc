"""The four charts of a page, from view rows: what is grouped, binned and compared with what.

The same functions draw the cooperative's page and an entrepreneur's: they only see the rows they
are given, so an entrepreneur's charts cannot show anyone else's invoices.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from tasks.report.data import Row
from tasks.report.formatting import euros_short
from tasks.report.svg import Series, columns, funnel, stacked_bars

TOP = 12
BIN_DAYS = 10
LAST_BIN = 120
MONTHS = 18

OVERDUE = Series("En retard", "#dc2626")
NOT_DUE = Series("Dans le délai", "#2563eb")
ON_TIME = Series("Payée dans le délai légal", "#16a34a")
LATE = Series("Payée en retard", "#dc2626")
RETURNS = (
    ("REJETEE", Series("Rejets", "#dc2626")),
    ("SUSPENDUE", Series("Suspensions", "#d97706")),
    ("A_RECYCLER", Series("À recycler", "#7c3aed")),
)


def status_funnel(summary: Row) -> str:
    """Received → valid → on Chorus Pro → not rejected → paid, from a summary row's stage counts
    (an entrepreneur's, or the cooperative's sums)."""
    on_chorus = sum(
        summary[f"{stage}_count"] for stage in ("in_progress", "paused", "paid", "closed")
    )
    steps = [
        ("Reçues", summary["invoice_count"]),
        ("Valides", summary["invoice_count"] - summary["invalid_count"]),
        ("Déposées sur Chorus Pro", on_chorus),
        ("Non rejetées", on_chorus - summary["closed_count"]),
        ("Payées", summary["paid_count"]),
    ]
    return funnel(steps, "Entonnoir des statuts")


def outstanding_by_buyer(invoices: Sequence[Row]) -> tuple[str, str]:
    """Unpaid invoices' TTC per buyer, overdue part first."""
    totals: dict[str, list[int]] = {}
    for r in invoices:
        if r["invoice_type"] != "FACTURE" or r["stage"] not in ("in_progress", "paused"):
            continue
        name = r["buyer_name"] or r["buyer_siret"] or "(acheteur inconnu)"
        pair = totals.setdefault(name, [0, 0])
        pair[0 if r["is_overdue"] else 1] += r["total_ttc_cents"]
    return _ranked(totals, "Encours par acheteur")


def outstanding_by_entrepreneur(summaries: Sequence[Row]) -> tuple[str, str]:
    """The entrepreneur summary's outstanding amounts, overdue part first (overdue invoices are
    among the outstanding ones)."""
    totals = {
        str(r["entrepreneur_name"] or r["entrepreneur_code"] or "(sans entrepreneur)"): [
            r["overdue_ttc_cents"],
            r["outstanding_ttc_cents"] - r["overdue_ttc_cents"],
        ]
        for r in summaries
        if r["outstanding_ttc_cents"]
    }
    return _ranked(totals, "Encours par entrepreneur")


def _ranked(totals: dict[str, list[int]], label: str) -> tuple[str, str]:
    """The twelve largest drawn; the others summed in the note (a bar for them would dwarf the
    rest)."""
    ranked = sorted(totals.items(), key=lambda item: -sum(item[1]))
    items: list[tuple[str, Sequence[int]]] = list(ranked[:TOP])
    rest = ranked[TOP:]
    note = ""
    if rest:
        overdue = sum(v[0] for _, v in rest)
        note = (
            f"Et {len(rest)} autres : {euros_short(overdue + sum(v[1] for _, v in rest))}, "
            f"dont {euros_short(overdue)} en retard."
        )
    return stacked_bars(items, [OVERDUE, NOT_DUE], euros_short, label), note


def payment_delays(invoices: Sequence[Row]) -> str:
    """Days from deposit to payment in 10-day bins, split by the invoice's own legal delay, with
    a line at each legal delay that applies to these invoices."""
    bins = LAST_BIN // BIN_DAYS + 1
    counts = [[0, 0] for _ in range(bins)]
    delays: set[int] = set()
    for r in invoices:
        days, legal = r["days_to_payment"], r["legal_delay_days"]
        if days is None or legal is None:
            continue
        delays.add(legal)
        counts[min(max(days, 0) // BIN_DAYS, bins - 1)][days > legal] += 1
    names = [f"{i * BIN_DAYS}" for i in range(bins - 1)] + [f"{LAST_BIN}+"]
    markers = [(d / BIN_DAYS, f"{d} j") for d in sorted(delays)]
    return columns(
        list(zip(names, counts, strict=True)),
        [ON_TIME, LATE],
        "Délais de paiement (jours depuis le dépôt)",
        markers,
    )


def returns_over_time(rejections: Sequence[Row], as_of: date) -> str:
    """Rejections, suspensions and returns for recycling per month, the last 18 months."""
    months: list[tuple[int, int]] = []
    year, month = as_of.year, as_of.month
    for _ in range(MONTHS):
        months.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    months.reverse()
    index = {m: i for i, m in enumerate(months)}
    kinds = [status for status, _ in RETURNS]
    counts = [[0] * len(kinds) for _ in months]
    for r in rejections:
        when = r["status_date"]
        position = index.get((int(when[:4]), int(when[5:7]))) if when else None
        if position is not None and r["status"] in kinds:
            counts[position][kinds.index(r["status"])] += 1
    names = [f"{m:02d}/{y % 100:02d}" for y, m in months]
    return columns(
        list(zip(names, counts, strict=True)),
        [series for _, series in RETURNS],
        "Rejets et suspensions par mois",
        every=2,
    )
