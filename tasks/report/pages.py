"""The dashboard's pages: the cooperative's, with everyone, and one per entrepreneur, with only theirs.

An entrepreneur's page is built from that entrepreneur's rows alone (their invoices, their
rejections, their summary row): no table, chart or link on it is fed anything else, so the page can
be handed to them as it is. It links nowhere, not even to the cooperative's page. A cooperative's
page is built from its own rows (`tasks.report.data.for_cooperative`); with several cooperatives,
the page above theirs only names them and links to each.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from statistics import median

from schemas.rules import DELAYS
from schemas.views import STRUCTURE_SUMMARY
from tasks.report import charts, tables
from tasks.report.data import EntrepreneurKey, ReportData, Row
from tasks.report.formatting import counted, days, euros, integer
from tasks.report.table import Table

ENTREPRENEUR_DIR = "entrepreneurs"


@dataclass(frozen=True)
class Kpi:
    label: str
    value: str
    hint: str = ""


@dataclass(frozen=True)
class Chart:
    title: str
    svg: str
    note: str = ""


@dataclass
class Page:
    path: str
    title: str
    subtitle: str
    kpis: list[Kpi]
    charts: list[Chart]
    tables: list[Table]
    #: Relative links shown at the top (the cooperative's page only).
    links: list[tuple[str, str]] = field(default_factory=list)


def page_path(key: EntrepreneurKey) -> str:
    """A file name from the SIRET and code; codes with other characters get a hash suffix so
    that two codes never share a file."""
    siret, code = key
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", code)[:60]
    if safe != code:
        safe += "-" + hashlib.sha256(code.encode()).hexdigest()[:8]
    return f"{ENTREPRENEUR_DIR}/{siret}-{safe}.html"


def _kpis(summary: Row, delay: float | None, open_returns: int) -> list[Kpi]:
    penalties = int(summary["interest_cents"]) + int(summary["indemnity_cents"])
    return [
        Kpi(
            "Factures",
            integer(summary["invoice_count"]),
            counted(summary["paid_count"], "payée", "payées"),
        ),
        Kpi(
            "Encours",
            euros(summary["outstanding_ttc_cents"]),
            counted(summary["outstanding_count"], "facture non payée", "factures non payées"),
        ),
        Kpi(
            "En retard de paiement",
            euros(summary["overdue_ttc_cents"]),
            counted(
                summary["overdue_count"],
                "facture au-delà du délai légal",
                "factures au-delà du délai légal",
            ),
        ),
        Kpi(
            "Intérêts et indemnités dus",
            euros(penalties),
            "intérêts moratoires et indemnité forfaitaire de 40 €",
        ),
        Kpi("Délai médian de paiement", days(delay), "du dépôt à la mise en paiement"),
        Kpi(
            "Rejets et suspensions à traiter",
            integer(open_returns),
            counted(
                summary["rejected_count"], "facture rejetée au total", "factures rejetées au total"
            ),
        ),
    ]


#: The figures of a structure row that add up across structures.
_ADDITIVE = [
    name
    for name in STRUCTURE_SUMMARY.column_names
    if name.endswith(("_count", "_cents")) and name != "entrepreneur_count"
]


def _total(rows: Sequence[Row]) -> Row:
    """The cooperative's figures: the sums of the structures' counts and amounts."""
    return {name: sum(int(r[name]) for r in rows) for name in _ADDITIVE}


def _median_delay(invoices: Sequence[Row]) -> float | None:
    values = [r["days_to_payment"] for r in invoices if r["days_to_payment"] is not None]
    return float(median(values)) if values else None


def _rate_note(data: ReportData) -> str:
    rate = f"{data.late_interest_rate_bp / 100:.2f}".replace(".", ",")
    return (
        f"Retards au {data.as_of.strftime('%d/%m/%Y')} ; délai légal compté depuis le dépôt "
        f"({DELAYS['state']} j État et collectivités, {DELAYS['hospital']} j hôpitaux, "
        f"{DELAYS['public_company']} j entreprises publiques) ; "
        f"intérêts au taux BCE + 8 points = {rate} %."
    )


def cooperative_page(
    data: ReportData, links: dict[EntrepreneurKey, str], name: str = "coopérative"
) -> Page:
    invoices = data.invoices
    totals = _total(data.structures)
    open_returns = sum(1 for r in data.rejections if not r["handled"])
    page_tables = [
        tables.entrepreneurs(data.entrepreneurs, links),
        tables.structures(data.structures),
        tables.buyers([r for r in invoices if r["deposit_date"] is not None]),
        tables.overdue(invoices, with_entrepreneur=True),
        tables.rejections(data.rejections, with_entrepreneur=True),
        tables.invoices(invoices, with_entrepreneur=True),
        tables.runs(data.runs),
    ]
    return Page(
        path="index.html",
        title=f"Factures Chorus Pro — {name}",
        subtitle=_rate_note(data),
        kpis=_kpis(totals, _median_delay(invoices), open_returns),
        charts=[
            Chart("Entonnoir des statuts", charts.status_funnel(totals)),
            Chart(
                "Encours par entrepreneur", *charts.outstanding_by_entrepreneur(data.entrepreneurs)
            ),
            Chart("Encours par acheteur", *charts.outstanding_by_buyer(invoices)),
            Chart(
                "Délais de paiement et délai légal",
                charts.payment_delays(invoices),
                "Traits pointillés : délais légaux applicables.",
            ),
            Chart(
                "Rejets et suspensions par mois",
                charts.returns_over_time(data.rejections, data.as_of),
            ),
        ],
        tables=page_tables,
        links=[(f"#{t.id}", t.title) for t in page_tables],
    )


def entrepreneur_page(data: ReportData, summary: Row, key: EntrepreneurKey, path: str) -> Page:
    invoices = data.invoices_by_entrepreneur.get(key, [])
    returns = data.rejections_by_entrepreneur.get(key, [])
    name = summary["entrepreneur_name"] or summary["entrepreneur_code"]
    return Page(
        path=path,
        title=f"Vos factures Chorus Pro — {name}",
        subtitle=_rate_note(data),
        kpis=_kpis(
            summary,
            summary["median_days_to_payment"],
            sum(1 for r in returns if not r["handled"]),
        ),
        charts=[
            Chart("Entonnoir des statuts", charts.status_funnel(summary)),
            Chart("Encours par acheteur", *charts.outstanding_by_buyer(invoices)),
            Chart(
                "Délais de paiement et délai légal",
                charts.payment_delays(invoices),
                "Traits pointillés : délais légaux applicables.",
            ),
            Chart("Rejets et suspensions par mois", charts.returns_over_time(returns, data.as_of)),
        ],
        tables=[
            tables.overdue(invoices, with_entrepreneur=False),
            tables.rejections(returns, with_entrepreneur=False),
            tables.invoices(invoices, with_entrepreneur=False),
        ],
    )


def cooperatives_page(cooperatives: Sequence[tuple[str, str, str]], runs: Sequence[Row]) -> Page:
    """The page above the cooperatives' own: their names and links, and the runs over the whole
    installation; no figure of any cooperative, so that it can be shown to all of them."""
    page_tables = [tables.cooperatives(cooperatives), tables.runs(runs)]
    return Page(
        path="index.html",
        title="Factures Chorus Pro — coopératives",
        subtitle="Un tableau de bord par coopérative ; chacun ne montre que ses propres factures.",
        kpis=[],
        charts=[],
        tables=page_tables,
        links=[(link, name) for _, name, link in cooperatives],
    )


def build_pages(data: ReportData, name: str = "coopérative") -> Iterator[Page]:
    """The cooperative's page first, then one page per entrepreneur who has invoices; one at a
    time, so that a page's tables can be written and dropped before the next is built."""
    summaries = [r for r in data.entrepreneurs if r["entrepreneur_code"] is not None]
    keys = [(str(r["supplier_siret"]), str(r["entrepreneur_code"])) for r in summaries]
    links = {key: page_path(key) for key in keys}
    yield cooperative_page(data, links, name)
    for summary, key in zip(summaries, keys, strict=True):
        yield entrepreneur_page(data, summary, key, links[key])
