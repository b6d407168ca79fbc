"""The dashboard's tables, built from view rows: which columns, in which order, with which caps.

Caps keep every page under a few MB whatever the warehouse holds: a table shows its most useful
rows first (the latest invoices and events, the most overdue invoices) and says how many it
left out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from operator import itemgetter
from statistics import median
from typing import Any

from schemas.rules import DELAYS
from tasks.report.data import Row
from tasks.report.formatting import KIND_LABELS, STAGE_LABELS, STATUS_LABELS, integer
from tasks.report.table import Column, Table

MAX_INVOICE_ROWS = 10_000
MAX_OTHER_ROWS = 5_000
#: Sorts before any ISO date.
_OLDEST = ""


def _capped(
    rows: Sequence[Row],
    cap: int,
    key: Callable[[Row], Any],
    what: str,
    which: str = "les plus récentes",
) -> tuple[list[Row], str]:
    """The `cap` first rows by `key`, descending, and the note saying what was left out; rows
    under the cap are left as they are (the page sorts them), which spares a sort per page."""
    if len(rows) <= cap:
        return list(rows), ""
    ordered = sorted(rows, key=key, reverse=True)
    return ordered[:cap], f"{integer(cap)} {what} affichées sur {integer(len(ordered))} : {which}."


def _entrepreneur(row: Row) -> str:
    return str(row.get("entrepreneur_name") or row.get("entrepreneur_code") or "—")


#: Cells copied as they are (one C call per row: this runs for every invoice, twice).
_INVOICE_CELLS = itemgetter(
    "buyer_name", "total_ttc_cents", "deposit_date", "current_status", "current_status_date"
)


def invoices(rows: Sequence[Row], *, with_entrepreneur: bool) -> Table:
    shown, note = _capped(
        rows,
        MAX_INVOICE_ROWS,
        lambda r: (r["deposit_date"] or r["invoice_date"] or _OLDEST, r["invoice_id"]),
        "factures",
    )
    columns = [Column("N° facture")]
    columns += [Column("Entrepreneur")] if with_entrepreneur else []
    columns += [
        Column("Acheteur"),
        Column("Montant TTC", "eur"),
        Column("Déposée le", "date"),
        Column("Statut Chorus Pro"),
        Column("Depuis le", "date"),
        Column("Étape"),
        Column("Payée le", "date"),
        Column("Retard", "days"),
        Column("Intérêts + indemnité", "eur"),
    ]
    body = [
        [
            r["invoice_number"],
            *([_entrepreneur(r)] if with_entrepreneur else ()),
            *_INVOICE_CELLS(r),
            STAGE_LABELS.get(r["stage"], r["stage"]),
            r["paid_date"],
            r["days_late"] or None,
            (r["interest_cents"] + r["indemnity_cents"]) or None,
        ]
        for r in shown
    ]
    table = Table("factures", "Factures", columns, body, note=note)
    table.facet = table.column("Étape")
    table.sort = (table.column("Déposée le"), "desc")
    return table


def overdue(rows: Sequence[Row], *, with_entrepreneur: bool) -> Table:
    late = [r for r in rows if r["is_overdue"]]
    shown, note = _capped(
        late,
        MAX_OTHER_ROWS,
        lambda r: (r["days_late"], r["invoice_id"]),
        "factures",
        "les plus en retard",
    )
    columns = [Column("N° facture")]
    columns += [Column("Entrepreneur")] if with_entrepreneur else []
    columns += [
        Column("Acheteur"),
        Column("Type d'acheteur"),
        Column("Montant TTC", "eur"),
        Column("Déposée le", "date"),
        Column("Échéance légale", "date"),
        Column("Jours de retard", "int"),
        Column("Intérêts moratoires", "eur"),
        Column("Indemnité", "eur"),
    ]
    body = [
        [r["invoice_number"]]
        + ([_entrepreneur(r)] if with_entrepreneur else [])
        + [
            r["buyer_name"],
            f"{KIND_LABELS.get(r['buyer_kind'], r['buyer_kind'])} ({r['legal_delay_days']} j)",
            r["total_ttc_cents"],
            r["deposit_date"],
            r["due_date"],
            r["days_late"],
            r["interest_cents"],
            r["indemnity_cents"],
        ]
        for r in shown
    ]
    table = Table("retards", "Factures en retard de paiement", columns, body, note=note)
    table.sort = (table.column("Jours de retard"), "desc")
    return table


def rejections(rows: Sequence[Row], *, with_entrepreneur: bool) -> Table:
    shown, note = _capped(
        rows, MAX_OTHER_ROWS, lambda r: (r["status_at"], r["status_event_id"]), "lignes"
    )
    columns = [Column("Date", "date"), Column("N° facture")]
    columns += [Column("Entrepreneur")] if with_entrepreneur else []
    columns += [
        Column("Acheteur"),
        Column("Montant TTC", "eur"),
        Column("Événement"),
        Column("Motif (commentaire Chorus Pro)"),
        Column("Traité"),
    ]
    body = [
        [r["status_date"], r["invoice_number"]]
        + ([_entrepreneur(r)] if with_entrepreneur else [])
        + [
            r["buyer_name"],
            r["total_ttc_cents"],
            STATUS_LABELS.get(r["status"], r["status"]),
            r["reason"],
            "Oui" if r["handled"] else "Non",
        ]
        for r in shown
    ]
    return Table(
        "rejets",
        "Rejets, suspensions et factures à recycler",
        columns,
        body,
        facet=len(columns) - 1,
        sort=(0, "desc"),
        note=note,
    )


def _figures(row: Row) -> list[Any]:
    return [
        row["invoice_count"],
        row["paid_count"],
        row["outstanding_ttc_cents"],
        row["overdue_count"],
        row["overdue_ttc_cents"],
        row["interest_cents"] + row["indemnity_cents"],
        row["median_days_to_payment"],
        row["rejected_count"],
        row["returned_count"],
    ]


_FIGURE_COLUMNS = [
    Column("Factures", "int"),
    Column("Payées", "int"),
    Column("Encours", "eur"),
    Column("En retard", "int"),
    Column("Montant en retard", "eur"),
    Column("Intérêts + indemnités", "eur"),
    Column("Délai médian de paiement", "days"),
    Column("Rejets", "int"),
    Column("Suspensions / recyclages", "int"),
]


def entrepreneurs(rows: Sequence[Row], links: dict[tuple[str, str], str]) -> Table:
    body = []
    for r in rows:
        key = (str(r["supplier_siret"]), str(r["entrepreneur_code"]))
        name = _entrepreneur(r) if r["entrepreneur_code"] else "(sans entrepreneur)"
        cell: Any = [name, links[key]] if key in links else [name, None]
        body.append([cell, r["entrepreneur_code"], r["supplier_siret"], *_figures(r)])
    columns = [Column("Entrepreneur", "link"), Column("Code"), Column("Structure (SIRET)")]
    table = Table("entrepreneurs", "Par entrepreneur", columns + _FIGURE_COLUMNS, body)
    table.sort = (table.column("Encours"), "desc")
    return table


def structures(rows: Sequence[Row]) -> Table:
    body = [[r["supplier_siret"], r["entrepreneur_count"], *_figures(r)] for r in rows]
    columns = [Column("Structure (SIRET)"), Column("Entrepreneurs", "int")]
    return Table("structures", "Par structure", columns + _FIGURE_COLUMNS, body)


def buyers(rows: Sequence[Row]) -> Table:
    """Per buyer, from the lifecycle rows (there is no buyer view: the buyer is a column)."""
    groups: dict[tuple[Any, Any], list[Row]] = {}
    for r in rows:
        groups.setdefault((r["buyer_siret"], r["buyer_name"]), []).append(r)
    body = []
    for (siret, name), group in groups.items():
        delays = [r["days_to_payment"] for r in group if r["days_to_payment"] is not None]
        kind = group[0]["buyer_kind"]
        body.append(
            [
                name,
                siret,
                f"{KIND_LABELS.get(kind, kind)} ({DELAYS.get(kind, 30)} j)",
                len(group),
                _sum(group, "total_ttc_cents", _outstanding),
                _sum(group, "total_ttc_cents", lambda r: bool(r["is_overdue"])),
                float(median(delays)) if delays else None,
            ]
        )
    columns = [
        Column("Acheteur"),
        Column("SIRET"),
        Column("Type (délai légal)"),
        Column("Factures", "int"),
        Column("Encours", "eur"),
        Column("Montant en retard", "eur"),
        Column("Délai médian de paiement", "days"),
    ]
    table = Table("acheteurs", "Par acheteur", columns, body)
    table.sort = (table.column("Encours"), "desc")
    return table


def cooperatives(rows: Sequence[tuple[str, str, str]]) -> Table:
    """(id, name, link) per cooperative: where each one's dashboard is, and nothing of it."""
    body = [[[name, link], cooperative] for cooperative, name, link in rows]
    return Table(
        "cooperatives",
        "Tableaux de bord par coopérative",
        [Column("Coopérative", "link"), Column("Identifiant")],
        body,
        sort=(0, "asc"),
    )


def runs(rows: Sequence[Row]) -> Table:
    shown, note = _capped(
        rows, MAX_OTHER_ROWS, lambda r: (r["started_at"], r["run_id"]), "exécutions"
    )
    body = [
        [
            r["flow"],
            r["started_at"],
            r["finished_at"],
            r["duration_seconds"],
            r["outcome"],
            _counts(r["counts_json"]),
            r["message"],
        ]
        for r in shown
    ]
    columns = [
        Column("Flux"),
        Column("Début (UTC)", "datetime"),
        Column("Fin (UTC)", "datetime"),
        Column("Durée (s)", "int"),
        Column("Résultat"),
        Column("Compteurs"),
        Column("Message"),
    ]
    return Table(
        "executions", "Exécutions du pipeline", columns, body, facet=0, sort=(1, "desc"), note=note
    )


def _outstanding(row: Row) -> bool:
    return row["invoice_type"] == "FACTURE" and row["stage"] in ("in_progress", "paused")


def _sum(rows: Sequence[Row], column: str, keep: Callable[[Row], bool]) -> int:
    return sum(int(r[column]) for r in rows if keep(r))


def _counts(text: str | None) -> str:
    """`{"invoices": 12, "ready": 10}` → `invoices 12 · ready 10`; anything else as it is."""
    try:
        counts = json.loads(text or "{}")
    except ValueError:
        return text or ""
    if not isinstance(counts, dict):
        return str(counts)
    return " · ".join(f"{key} {value}" for key, value in sorted(counts.items()))
