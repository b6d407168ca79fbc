"""`chorus-etl invoices` and `chorus-etl invoice NUMBER`: ask the warehouse where invoices are.

What accounting asks every day ("where is FC0123-24?", "what is late at Antigone?"), answered from
the warehouse alone: nothing is asked of Chorus Pro and nothing is written. The list is a rich table
on the terminal, a JSON list with `--json`, `;`-separated CSV with `--csv`; one invoice's life is a
header and, in the order they happened, its ingest reasons, deposit attempts, Chorus Pro statuses,
the completions and recyclings answered once the buyer sent it back, and alerts. The queries are in `cli/invoice_queries.py`; `--overdue` is `find_overdue`'s verdict,
the rule the nightly alerts use.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from chorus_etl.french import format_euros, plain_amount
from chorus_etl.untrusted import printable, spreadsheet_cell
from cli.output import emit, plain

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from cli.invoice_queries import InvoiceLife, LastEvent, ListedInvoice
    from tasks.reconcile.overdue import Overdue

#: The columns of `invoices --json` and `--csv`, in order.
LIST_COLUMNS = (
    "cooperative",
    "supplier_siret",
    "invoice_number",
    "invoice_type",
    "invoice_date",
    "entrepreneur_code",
    "entrepreneur_name",
    "buyer_siret",
    "buyer_name",
    "total_ttc_cents",
    "total_ttc_eur",
    "state",
    "chorus_status",
    "chorus_status_at",
    "deposit_date",
    "last_event_kind",
    "last_event",
    "last_event_detail",
    "last_event_at",
)
#: Added with `--overdue`: what the legal-delay rule found.
OVERDUE_COLUMNS = ("due_date", "days_late", "interest_cents")
#: The columns a spreadsheet must read as numbers (a credit note's "-12.50" included); every other
#: cell is text and is neutralised against formulas.
NUMERIC_COLUMNS = frozenset({"total_ttc_cents", "total_ttc_eur", "days_late", "interest_cents"})


def invoices(
    cooperative: str | None = typer.Option(
        None, "--cooperative", help="Cooperative id (as in the accounts file)."
    ),
    structure: str | None = typer.Option(
        None, "--structure", "--supplier", help="Supplier structure SIRET."
    ),
    entrepreneur: str | None = typer.Option(
        None, "--entrepreneur", help="Entrepreneur code (case-insensitive)."
    ),
    status: str | None = typer.Option(
        None, "--status", help="Current Chorus Pro status, e.g. REJETEE (case-insensitive)."
    ),
    state: str | None = typer.Option(
        None,
        "--state",
        help="Pipeline state: invalid, ready, submitting, deposited, deposit_failed, conflict, external.",
    ),
    overdue: bool = typer.Option(
        False, "--overdue", help="Only invoices past their legal payment delay (as the alerts)."
    ),
    as_of: datetime | None = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="Day --overdue judges on (default: today)."
    ),
    number: str | None = typer.Option(
        None, "--number", help="Invoice number, exact or its beginning (case-insensitive)."
    ),
    limit: int = typer.Option(200, "--limit", min=1, help="Show at most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="A JSON list, one object per invoice."),
    as_csv: bool = typer.Option(
        False, "--csv", help="CSV on standard output (UTF-8, ';'-separated, header row)."
    ),
) -> None:
    """List invoices from the warehouse, newest first; the filters combine (AND). Times are UTC."""
    from cli.invoice_queries import Filters, UnknownState, list_invoices, parse_state

    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv", param_hint="'--json'")
    if as_of is not None and not overdue:
        raise typer.BadParameter("--as-of only applies with --overdue", param_hint="'--as-of'")
    try:
        filters = Filters(
            cooperative=cooperative,
            structure=structure,
            entrepreneur=entrepreneur,
            status=status,
            state=parse_state(state) if state is not None else None,
            number=number,
        )
    except UnknownState as exc:
        raise typer.BadParameter(
            f"{exc.given!r} is not a state; valid states: {', '.join(exc.valid)}",
            param_hint="'--state'",
        ) from None
    engine = _warehouse("invoices")
    try:
        late: dict[int, Overdue] | None = None
        if overdue:
            late = _overdue(engine, as_of.date() if as_of else date.today(), cooperative)
        page = list_invoices(engine, filters, limit, only=late)
    finally:
        engine.dispose()
    records = [_record(invoice, late) for invoice in page.invoices]
    if as_json:
        emit(records, as_json=True, human="")
    elif as_csv:
        columns = LIST_COLUMNS + (OVERDUE_COLUMNS if late is not None else ())
        typer.echo(_csv(records, columns), nl=False)
    else:
        _print_list(page.invoices, page.matched, limit, late)


def invoice(
    number: str = typer.Argument(..., help="The invoice number (exact, case-insensitive)."),
    structure: str | None = typer.Option(
        None,
        "--structure",
        "--supplier",
        help="Supplier structure SIRET, when several structures use this number.",
    ),
    cooperative: str | None = typer.Option(
        None, "--cooperative", help="Cooperative id, when several cooperatives use this number."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="A JSON list: one object per structure using the number."
    ),
) -> None:
    """One invoice's whole life: header, ingest reasons, deposit attempts, statuses, the
    completions and recyclings answered, alerts (times UTC).

    A number used by several structures of one cooperative shows one block per structure (pass
    --structure for one). A number several cooperatives use is never shown mixed: pass
    --cooperative or --structure to pick one (the candidates are listed, exit 2).
    """
    from cli.invoice_queries import invoice_lives

    engine = _warehouse("invoice")
    try:
        lives = invoice_lives(engine, number, structure, cooperative)
    finally:
        engine.dispose()
    if not lives:
        where = "".join(
            f" for {what} {value}"
            for what, value in (("cooperative", cooperative), ("structure", structure))
            if value
        )
        typer.echo(
            f"invoice: no invoice {number!r}{where} in the warehouse "
            f"(`chorus-etl invoices --number {number}` lists numbers beginning so)",
            err=True,
        )
        raise typer.Exit(1)
    owners = sorted({life.header["cooperative"] for life in lives})
    if len(owners) > 1:
        _ambiguous(lives, owners)
    if as_json:
        emit([_life_record(life) for life in lives], as_json=True, human="")
        return
    console = Console(highlight=False)
    if len(lives) > 1:
        sirets = ", ".join(life.header["supplier_siret"] for life in lives)
        console.print(
            plain(
                f"{lives[0].header['invoice_number']} is used by {len(lives)} structures "
                f"({sirets}); pass --structure SIRET for one.",
                style="yellow",
            )
        )
    for index, life in enumerate(lives):
        if index:
            console.rule()
        _print_life(console, life)


def _ambiguous(lives: Sequence[InvoiceLife], owners: Sequence[str]) -> None:
    """Each cooperative sees its own invoices: with no choice made, only where they are."""
    number = lives[0].header["invoice_number"]
    lines = [
        f"invoice: {number} is used by {len(owners)} cooperatives ({', '.join(owners)}); "
        "pass --cooperative ID or --structure SIRET for one:"
    ]
    lines += [
        f"  --cooperative {life.header['cooperative']} --structure "
        f"{life.header['supplier_siret']}  ({life.header['state']})"
        for life in lives
    ]
    typer.echo("\n".join(printable(line) for line in lines), err=True)
    raise typer.Exit(2)


# --- shared -------------------------------------------------------------------------------------


def _warehouse(command: str) -> Engine:
    """The configured warehouse, or one clear line: this command never creates one."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from chorus_etl import db
    from chorus_etl.config import get_settings
    from chorus_etl.log import configure_logging

    settings = get_settings()
    configure_logging(settings)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        from pathlib import Path

        if not Path(url.database).exists():
            typer.echo(
                f"{command}: no warehouse at {url.database}; run the pipeline first", err=True
            )
            raise typer.Exit(1)
    engine = db.make_engine(settings.database_url)
    try:
        ready = sa.inspect(engine).has_table("invoice")
    except sa.exc.OperationalError as exc:
        engine.dispose()
        typer.echo(f"{command}: the warehouse cannot be reached ({type(exc).__name__})", err=True)
        raise typer.Exit(1) from None
    if not ready:
        engine.dispose()
        typer.echo(f"{command}: the warehouse has no tables; run `chorus-etl db upgrade`", err=True)
        raise typer.Exit(1)
    return engine


def _overdue(engine: Engine, as_of: date, cooperative: str | None) -> dict[int, Overdue]:
    from chorus_etl.config import get_settings
    from tasks.reconcile.overdue import find_overdue

    settings = get_settings()
    found = find_overdue(
        engine, as_of, settings.buyer_kinds, settings.ecb_rate_percent, cooperative=cooperative
    )
    return {item.invoice_id: item for item in found}


def _decimal(cents: int | None) -> str | None:
    """Cents as a plain decimal, "1234.56": exact, for JSON and spreadsheets."""
    return None if cents is None else plain_amount(cents)


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _when(value: datetime | None) -> str:
    """A warehouse time (UTC) as French readers write it, to the minute."""
    return value.strftime("%d/%m/%Y %H:%M") if value else ""


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _euros(cents: int | None) -> str:
    """French spelling of an amount ("1 234,56 €"), as in the alerts and the refusal reasons."""
    return format_euros(cents) if cents is not None else ""


def _table(*columns: str, fold: str | None = None) -> Table:
    """A section's table: times never wrap, `fold` (an e-mail address) breaks anywhere."""
    table = Table(title_justify="left", title_style="bold")
    for name in columns:
        table.add_column(
            name,
            no_wrap=name in ("time", "started", "finished", "created", "sent", "asked"),
            overflow="fold" if name == fold else "ellipsis",
        )
    return table


def _cells(*values: Any) -> list[Text]:
    """Every cell is data: plain text, never markup nor an escape sequence."""
    return [plain(value) for value in values]


# --- the list -----------------------------------------------------------------------------------


def _record(invoice: ListedInvoice, late: dict[int, Overdue] | None) -> dict[str, Any]:
    event = invoice.last_event
    record: dict[str, Any] = {
        "cooperative": invoice.cooperative,
        "supplier_siret": invoice.supplier_siret,
        "invoice_number": invoice.invoice_number,
        "invoice_type": invoice.invoice_type,
        "invoice_date": _iso(invoice.invoice_date),
        "entrepreneur_code": invoice.entrepreneur_code,
        "entrepreneur_name": invoice.entrepreneur_name,
        "buyer_siret": invoice.buyer_siret,
        "buyer_name": invoice.buyer_name,
        "total_ttc_cents": invoice.total_ttc_cents,
        "total_ttc_eur": _decimal(invoice.total_ttc_cents),
        "state": invoice.state,
        "chorus_status": invoice.chorus_status,
        "chorus_status_at": _iso(invoice.chorus_status_at),
        "deposit_date": _iso(invoice.deposit_date),
        "last_event_kind": event.kind if event else None,
        "last_event": event.what if event else None,
        "last_event_detail": event.detail if event else None,
        "last_event_at": _iso(event.at) if event else None,
    }
    if late is not None:
        item = late[invoice.id]
        record |= {
            "due_date": item.due.isoformat(),
            "days_late": item.days_late,
            "interest_cents": item.interest_cents,
        }
    return record


def _csv(records: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """For a spreadsheet: a buyer's name or Chorus Pro's comment is data, never a formula."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    for record in records:
        writer.writerow(
            {
                name: ""
                if record[name] is None
                else spreadsheet_cell(record[name], numeric=name in NUMERIC_COLUMNS)
                for name in columns
            }
        )
    return buffer.getvalue()


def _event_text(event: LastEvent | None) -> str:
    """What happened first (a narrow terminal cuts the end), then when."""
    if event is None:
        return ""
    if event.kind == "status":
        text = event.what
    elif event.kind == "deposit":
        text = f"deposit {event.what}" + (f" ({event.detail})" if event.detail else "")
    else:
        what = event.what if event.count == 1 else f"{event.count} {event.what}s"
        text = f"ingest {what}: {event.detail}" + (" …" if event.count > 1 else "")
    when = _when(event.at)
    return f"{text} · {when}" if when else text


#: Columns that give way, widest first, when the terminal is too narrow for the list; the others
#: (SIRET, number, amount, state, status, dates) are always whole. Every cell stays on one line.
_FLEXIBLE = ("entrepreneur", "buyer", "last event")
_FLEXIBLE_FLOOR = 6


def _invoices_counted(n: int) -> str:
    return f"{n} invoice" if n == 1 else f"{n} invoices"


def _fit(widths: dict[str, int], room: int) -> dict[str, int]:
    """The flexible columns' widths so that the row fits `room` cells: the widest shrinks first."""
    fitted = dict(widths)
    excess = sum(fitted.values()) - room
    while excess > 0:
        name = max(_FLEXIBLE, key=lambda n: fitted[n])
        if fitted[name] <= _FLEXIBLE_FLOOR:
            break
        fitted[name] -= 1
        excess -= 1
    return fitted


def _print_list(
    rows: Sequence[ListedInvoice], matched: int, limit: int, late: dict[int, Overdue] | None
) -> None:
    from rich import box
    from rich.cells import cell_len
    from rich.measure import Measurement

    console = Console(highlight=False)
    headings = ["cooperative", "supplier", "number", "entrepreneur", "buyer", "TTC", "state"]
    headings += ["Chorus status"]
    headings += ["deposited"] + (["due", "days late"] if late is not None else []) + ["last event"]
    lines: list[list[Text]] = []
    for row in rows:
        overdue = late[row.id] if late is not None else None
        lines.append(
            _cells(
                row.cooperative,
                row.supplier_siret,
                row.invoice_number,
                row.entrepreneur_code,
                row.buyer_name or row.buyer_siret,
                _euros(row.total_ttc_cents),
                row.state,
                row.chorus_status,
                _day(row.deposit_date),
                *((_day(overdue.due), overdue.days_late) if overdue is not None else ()),
                _event_text(row.last_event),
            )
        )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    for heading in headings:
        table.add_column(
            heading,
            no_wrap=True,
            overflow="ellipsis",
            justify="right" if heading in ("TTC", "days late") else "left",
        )
    for line in lines:
        table.add_row(*line)
    natural = {
        heading: max([cell_len(heading), *(cell_len(line[i].plain) for line in lines)])
        for i, heading in enumerate(headings)
    }
    unbounded = console.options.update_width(1_000_000)
    borders = Measurement.get(console, unbounded, table).maximum - sum(natural.values())
    fitted = _fit(natural, console.width - borders)
    for column in table.columns:
        if column.header in _FLEXIBLE:
            column.max_width = fitted[str(column.header)]
    if rows:
        console.print(table)
    shown = len(rows)
    if not matched:
        console.print("No invoice matched.")
    elif shown < matched:
        console.print(
            f"{_invoices_counted(matched)} matched, {shown} shown (newest first; --limit {limit})."
        )
    else:
        console.print(f"{_invoices_counted(matched)} matched, all shown.")


# --- one invoice --------------------------------------------------------------------------------


def _rate(rate_bp: int) -> str:
    return f"{rate_bp / 100:g}".replace(".", ",") + " %"


def _life_record(life: InvoiceLife) -> dict[str, Any]:
    header = dict(life.header)
    header.pop("id")
    for name in ("amount_ht", "amount_vat", "total_ttc"):
        header[f"{name}_eur"] = _decimal(header[f"{name}_cents"])
    header["deposit_mode"] = life.deposit_mode

    def rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                key: (_iso(value) if isinstance(value, date | datetime) else value)
                for key, value in item.items()
            }
            for item in items
        ]

    vat_lines = [
        item | {"base_eur": _decimal(item["base_cents"]), "vat_eur": _decimal(item["vat_cents"])}
        for item in life.vat_lines
    ]
    return {
        key: (_iso(value) if isinstance(value, date | datetime) else value)
        for key, value in header.items()
    } | {
        "vat_lines": vat_lines,
        "issues": rows(life.issues),
        "deposit_attempts": rows(life.attempts),
        "status_events": rows(life.events),
        "returns": rows(life.returns),
        "alerts": rows(life.alerts),
    }


def _print_life(console: Console, life: InvoiceLife) -> None:
    h = life.header
    kind = "credit note" if h["invoice_type"] == "AVOIR" else "invoice"
    title = (
        f"{kind.capitalize()} {h['invoice_number']} of {h['supplier_siret']} "
        f"(cooperative {h['cooperative']})"
    )
    if h["original_invoice_number"]:
        title += f" (credits {h['original_invoice_number']})"
    console.print(plain(title, style="bold"))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()

    def line(label: str, *parts: Any) -> None:
        text = " · ".join(str(p) for p in parts if p not in (None, ""))
        if text:
            grid.add_row(Text(label), plain(text))

    entrepreneur = h["entrepreneur_code"]
    if entrepreneur and h["entrepreneur_name"]:
        entrepreneur = f"{entrepreneur} ({h['entrepreneur_name']})"
    line("entrepreneur", entrepreneur or "unknown")
    line(
        "buyer",
        h["buyer_name"],
        h["buyer_siret"] and f"SIRET {h['buyer_siret']}",
        h["buyer_service_code"] and f"service {h['buyer_service_code']}",
        h["engagement_number"] and f"engagement {h['engagement_number']}",
        h["market_number"] and f"market {h['market_number']}",
    )
    line(
        "dates",
        h["invoice_date"] and f"issued {_day(h['invoice_date'])}",
        h["due_date"] and f"due {_day(h['due_date'])}",
    )
    line(
        "amounts",
        f"HT {_euros(h['amount_ht_cents'])}",
        f"VAT {_euros(h['amount_vat_cents'])}",
        f"TTC {_euros(h['total_ttc_cents'])}",
        h["currency"] if h["currency"] != "EUR" else None,
        h["payment_mode"],
    )
    for vat in life.vat_lines:
        line(
            f"VAT {_rate(vat['rate_bp'])}",
            f"base {_euros(vat['base_cents'])}",
            f"VAT {_euros(vat['vat_cents'])}",
            vat["exemption_reason"],
        )
    line("state", h["state"])
    line(
        "Chorus Pro",
        h["chorus_invoice_id"] and f"id {h['chorus_invoice_id']}",
        h["chorus_status"],
        h["chorus_status_at"] and f"since {_when(h['chorus_status_at'])}",
        h["chorus_status_comment"],
    )
    line(
        "deposit",
        h["deposit_date"] and f"deposited {_day(h['deposit_date'])}",
        life.deposit_mode and f"mode {life.deposit_mode}",
        h["deposit_origin"] == "portal" and "found on Chorus Pro (deposited by hand)",
        h["deposit_error_code"] and f"error {h['deposit_error_code']}",
        h["deposit_error_label"],
    )
    line("PDF", h["pdf_path"])
    line("staged", _when(h["created_at"]), h["updated_at"] and f"updated {_when(h['updated_at'])}")
    console.print(grid)

    def section(title: str, items: list[dict[str, Any]], table: Table, fill: Any) -> None:
        if not items:
            console.print(Text(f"{title}: none", style="bold"))
            return
        table.title = f"{title} ({len(items)})"
        for item in items:
            table.add_row(*_cells(*fill(item)))
        console.print(table)

    _print_issues(console, life.issues)
    section(
        "Deposit attempts",
        life.attempts,
        _table("started", "finished", "mode", "outcome", "flux", "error"),
        lambda a: (
            _when(a["started_at"]),
            _when(a["finished_at"]),
            a["mode"],
            a["outcome"],
            a["flux_number"],
            " ".join(p for p in (a["error_code"], a["error_label"]) if p),
        ),
    )
    section(
        "Chorus Pro statuses",
        life.events,
        _table("time", "status", "comment", "source"),
        lambda e: (_when(e["status_at"]), e["status"], e["comment"], e["source"]),
    )
    section(
        "Returned invoice answered (complete, recycle)",
        life.returns,
        _table("asked", "action", "from", "state", "what", "Chorus Pro", fold="what"),
        lambda a: (
            _when(a["requested_at"]),
            a["kind"],
            a["origin"],
            a["state"] + (f" ({a['attempts']} sent)" if a["attempts"] > 1 else ""),
            _return_what(a),
            " ".join(
                p for p in (a["chorus_status"], a["error_code"], a["error_label"], a["detail"]) if p
            ),
        ),
    )
    section(
        "Alerts",
        life.alerts,
        _table("created", "kind", "audience", "recipient", "status", "sent", fold="recipient"),
        lambda a: (
            _when(a["created_at"]),
            a["kind"],
            a["audience"],
            a["recipient"],
            a["status"],
            _when(a["sent_at"]),
        ),
    )


def _return_what(action: dict[str, Any]) -> str:
    """What was asked: the files and comment of a completion, a recycling's routing change."""
    if action["kind"] == "complete":
        parts = [", ".join(action["files"])] if action["files"] else []
        if action["comment"]:
            parts.append(f"« {action['comment']} »")
        return " · ".join(parts)
    before, after = action["routing_before"] or {}, action["routing_after"] or {}
    return " · ".join(
        f"{name} {before.get(key) or '-'} → {after.get(key) or '-'}"
        for key, name in (
            ("buyer_siret", "buyer"),
            ("buyer_service_code", "service"),
            ("engagement_number", "engagement"),
        )
        if before.get(key) != after.get(key)
    )


def _print_issues(console: Console, issues: list[dict[str, Any]]) -> None:
    """Reasons are sentences: one paragraph each, French then English, not a table's cells."""
    title = "Ingest: reasons and warnings"
    if not issues:
        console.print(Text(f"{title}: none", style="bold"))
        return
    console.print(Text(f"{title} ({len(issues)})", style="bold"))
    for issue in issues:
        where = issue["column"] or ""
        if issue["value"]:
            where += f" = {issue['value']}" if where else issue["value"]
        head = Text("  ")
        head.append(issue["severity"], style="red" if issue["severity"] == "error" else "yellow")
        head.append(printable(f"  {issue['rule']}" + (f"  ({where})" if where else "")))
        head.append(f"  {_when(issue['created_at'])}", style="dim")
        console.print(head)
        for language in ("fr", "en"):
            message = plain(f"{language.upper()}  {issue[f'message_{language}']}")
            console.print(Padding(message, (0, 0, 0, 4)))
