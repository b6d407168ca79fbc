"""The dashboards' SQL views: one documented contract, the same rows on SQLite and PostgreSQL.

Dashboards, ad-hoc SQL (psql, sqlite3, a BI tool) and `chorus-etl report` all read these views, so
a figure on a page is a figure anyone can re-query. Columns are documented in `docs/warehouse.md`.

Portability. The SQL is written once. What the two engines spell differently (today's date, the
UTC date of a timestamp, a difference of dates, adding days to a date, seconds between timestamps)
is written as a macro, `@name(arguments)`, that `render` expands for the dialect; so is a table's
`cooperative` column, which the migrations before 0005 must read as NULL. Flags are 0/1
integers, sums are cast to BIGINT and euros or medians to DOUBLE PRECISION, so that both engines
return the same values, not merely equal-looking ones.

Cooperatives. Every view says which cooperative each row belongs to (`cooperative`), and the
summaries group by it first, so that `WHERE cooperative = '…'` gives one cooperative exactly its
own rows and figures, even for a structure that moved from one cooperative to another.

Legal payment rules. They come from `schemas/rules.py`, the one home of the domain rules, which
the pipeline's alerts read too: delays, statuses, buyer-name patterns and the late-interest
arithmetic (integers, rounded half up once) are generated into the SQL from there.

Settings in SQL. The ECB rate and the buyer-kind overrides are settings, which a view cannot read,
and a new table would need a model in `schemas/warehouse.py`. So they live in two one-line views,
`v_legal_setting` and `v_buyer_kind_setting`, whose SELECT holds the values as literals: created
by migration 0002 from the settings, rewritten by the report when the settings changed.
"""

# ruff: noqa: S608 - the SQL is assembled from this module's constants; the only outside values
# (settings in the settings views) go through `_lit`, which quotes them.
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from schemas.rules import (
    CLOSED,
    DELAYS,
    HOSPITAL_SUBSTRINGS,
    HOSPITAL_WORDS,
    INDEMNITY_CENTS,
    LATE_INTEREST_MARGIN_BP,
    PAID,
    PAID_WHEN_NOT_REPORTED,
    PAUSED,
    PUBLIC_COMPANY_SUBSTRINGS,
    PUBLIC_COMPANY_WORDS,
    REJECTED,
    WORD_SEPARATORS,
    ecb_rate_bp,
    late_interest_sql,
)
from schemas.warehouse import UTCDateTime

#: Where an invoice is, in one word, for dashboards (docs/warehouse.md explains each).
STAGES = (
    "invalid",
    "pending",
    "deposit_failed",
    "conflict",
    "in_progress",
    "paused",
    "paid",
    "closed",
)

# --- view definitions as data ---------------------------------------------------------------------

_TYPES: dict[str, Callable[[], sa.types.TypeEngine[Any]]] = {
    "int": sa.BigInteger,
    "flag": sa.Integer,
    "float": sa.Float,
    "text": sa.String,
    "date": sa.Date,
    "timestamp": UTCDateTime,
}


@dataclass(frozen=True)
class ViewColumn:
    name: str
    kind: str

    @property
    def type(self) -> sa.types.TypeEngine[Any]:
        return _TYPES[self.kind]()


@dataclass(frozen=True)
class View:
    """A view's name, its columns (name and type, to read it typed) and its SQL.

    `sql` is None for the settings views, whose SELECT is rendered from the settings' values.
    """

    name: str
    columns: tuple[ViewColumn, ...]
    sql: str | None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def table(self) -> sa.TableClause:
        """The view as a typed selectable: dates and timestamps come back as Python objects."""
        return sa.table(self.name, *(sa.column(c.name, c.type) for c in self.columns))


def _columns(spec: str) -> tuple[ViewColumn, ...]:
    """`name kind` per line: compact enough to read next to the SQL."""
    pairs = [line.split() for line in spec.splitlines() if line.strip()]
    return tuple(ViewColumn(name, kind) for name, kind in pairs)


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")"


def _like_variants(pattern: str) -> tuple[str, ...]:
    """SQLite's UPPER leaves non-ASCII letters alone (hôpital → HôPITAL): match both spellings."""
    ascii_upper = "".join(c.lower() if ord(c) > 127 else c for c in pattern)
    return tuple(dict.fromkeys((pattern, ascii_upper)))


def _name_matches(substrings: tuple[str, ...], words: tuple[str, ...]) -> str:
    tests = [
        f"b.upper_name LIKE {_lit('%' + v + '%')}" for s in substrings for v in _like_variants(s)
    ]
    tests += [f"b.word_name LIKE {_lit('% ' + v + ' %')}" for w in words for v in _like_variants(w)]
    return " OR ".join(tests)


def _word_name(expression: str) -> str:
    for separator in WORD_SEPARATORS:
        expression = f"REPLACE({expression}, {_lit(separator)}, ' ')"
    return f"' ' || {expression} || ' '"


_DELAY_APPLIES = "i.invoice_type = 'FACTURE' AND i.deposit_date IS NOT NULL"
_DELAY_CASE = (
    "CASE k.buyer_kind "
    + " ".join(f"WHEN {_lit(kind)} THEN {days}" for kind, days in DELAYS.items())
    + " END"
)

LEGAL_SETTING = View("v_legal_setting", _columns("ecb_rate_bp int\nas_of_date date"), None)
BUYER_KIND_SETTING = View("v_buyer_kind_setting", _columns("buyer_siret text\nkind text"), None)

INVOICE_PAYMENT = View(
    "v_invoice_payment",
    _columns(
        """
        invoice_id int
        payment_reported flag
        payment_reported_at timestamp
        mandated flag
        mandated_at timestamp
        closed flag
        rejected flag
        returned flag
        """
    ),
    f"""
    WITH seen AS (
        SELECT e.invoice_id, e.status, e.status_at FROM status_event e
        UNION ALL
        SELECT i.id, i.current_status, i.current_status_at FROM invoice i
        WHERE i.current_status IS NOT NULL
    )
    SELECT
        s.invoice_id,
        MAX(CASE WHEN s.status IN {_in(PAID)} THEN 1 ELSE 0 END) AS payment_reported,
        MIN(CASE WHEN s.status IN {_in(PAID)} THEN s.status_at END) AS payment_reported_at,
        MAX(CASE WHEN s.status IN {_in(PAID_WHEN_NOT_REPORTED)} THEN 1 ELSE 0 END) AS mandated,
        MIN(CASE WHEN s.status IN {_in(PAID_WHEN_NOT_REPORTED)} THEN s.status_at END)
            AS mandated_at,
        MAX(CASE WHEN s.status IN {_in(CLOSED)} THEN 1 ELSE 0 END) AS closed,
        MAX(CASE WHEN s.status = {_lit(REJECTED)} THEN 1 ELSE 0 END) AS rejected,
        MAX(CASE WHEN s.status IN {_in(PAUSED)} THEN 1 ELSE 0 END) AS returned
    FROM seen s
    GROUP BY s.invoice_id
    """,
)

#: The invoice columns `v_invoice_current` reads, named: a view over `invoice.*` would depend on
#: every column, and PostgreSQL would refuse to drop one in a later downgrade.
_INVOICE_FACTS = (
    "id",
    "supplier_siret",
    "invoice_number",
    "invoice_type",
    "invoice_date",
    "entrepreneur_code",
    "buyer_siret",
    "buyer_name",
    "buyer_service_code",
    "amount_ht_cents",
    "amount_vat_cents",
    "total_ttc_cents",
    "state",
    "current_status",
    "current_status_at",
    "current_status_comment",
    "deposit_date",
    "chorus_invoice_id",
    "deposit_error_label",
)

INVOICE_CURRENT = View(
    "v_invoice_current",
    _columns(
        """
        invoice_id int
        cooperative text
        supplier_siret text
        invoice_number text
        invoice_type text
        invoice_date date
        entrepreneur_code text
        entrepreneur_name text
        buyer_siret text
        buyer_name text
        buyer_service_code text
        amount_ht_cents int
        amount_vat_cents int
        total_ttc_cents int
        amount_ht_eur float
        amount_vat_eur float
        total_ttc_eur float
        state text
        current_status text
        current_status_at timestamp
        current_status_date date
        current_status_comment text
        deposit_date date
        chorus_invoice_id int
        deposit_error_label text
        stage text
        payment_not_reported flag
        paid_at timestamp
        ever_rejected flag
        ever_returned flag
        """
    ),
    f"""
    WITH facts AS (
        SELECT
            {", ".join(f"i.{name}" for name in _INVOICE_FACTS)},
            @cooperative(i) AS cooperative,
            en.name AS directory_name,
            b.designation AS buyer_designation,
            CASE WHEN b.payment_not_reported THEN 1 ELSE 0 END AS not_reported,
            COALESCE(p.payment_reported, 0) AS payment_reported,
            p.payment_reported_at,
            COALESCE(p.mandated, 0) AS mandated,
            p.mandated_at,
            COALESCE(p.closed, 0) AS closed,
            COALESCE(p.rejected, 0) AS rejected,
            COALESCE(p.returned, 0) AS returned
        FROM invoice i
        LEFT JOIN entrepreneur en
            ON en.supplier_siret = i.supplier_siret AND en.code = i.entrepreneur_code
        LEFT JOIN buyer_structure b ON b.siret = i.buyer_siret
        LEFT JOIN v_invoice_payment p ON p.invoice_id = i.id
    ),
    staged AS (
        SELECT
            f.*,
            CASE
                WHEN f.state = 'invalid' THEN 'invalid'
                WHEN f.state IN ('ready', 'submitting') THEN 'pending'
                WHEN f.state = 'deposit_failed' THEN 'deposit_failed'
                WHEN f.state = 'conflict' THEN 'conflict'
                WHEN f.payment_reported = 1 OR (f.not_reported = 1 AND f.mandated = 1)
                    THEN 'paid'
                WHEN f.closed = 1 THEN 'closed'
                WHEN f.current_status IN {_in(PAUSED)} THEN 'paused'
                ELSE 'in_progress'
            END AS stage
        FROM facts f
    )
    SELECT
        s.id AS invoice_id,
        s.cooperative,
        s.supplier_siret,
        s.invoice_number,
        s.invoice_type,
        s.invoice_date,
        s.entrepreneur_code,
        s.directory_name AS entrepreneur_name,
        s.buyer_siret,
        COALESCE(s.buyer_name, s.buyer_designation) AS buyer_name,
        s.buyer_service_code,
        s.amount_ht_cents,
        s.amount_vat_cents,
        s.total_ttc_cents,
        CAST(s.amount_ht_cents AS DOUBLE PRECISION) / 100 AS amount_ht_eur,
        CAST(s.amount_vat_cents AS DOUBLE PRECISION) / 100 AS amount_vat_eur,
        CAST(s.total_ttc_cents AS DOUBLE PRECISION) / 100 AS total_ttc_eur,
        s.state,
        s.current_status,
        s.current_status_at,
        @utc_date(s.current_status_at) AS current_status_date,
        s.current_status_comment,
        s.deposit_date,
        s.chorus_invoice_id,
        s.deposit_error_label,
        s.stage,
        s.not_reported AS payment_not_reported,
        CASE
            WHEN s.stage <> 'paid' THEN NULL
            WHEN s.not_reported = 1 THEN s.mandated_at
            ELSE s.payment_reported_at
        END AS paid_at,
        s.rejected AS ever_rejected,
        s.returned AS ever_returned
    FROM staged s
    """,
)

INVOICE_LIFECYCLE = View(
    "v_invoice_lifecycle",
    _columns(
        """
        invoice_id int
        cooperative text
        supplier_siret text
        invoice_number text
        invoice_type text
        invoice_date date
        entrepreneur_code text
        entrepreneur_name text
        buyer_siret text
        buyer_name text
        total_ttc_cents int
        stage text
        current_status text
        current_status_date date
        deposit_date date
        paid_date date
        payment_inferred flag
        days_to_payment int
        buyer_kind text
        legal_delay_days int
        due_date date
        as_of_date date
        is_overdue flag
        days_late int
        late_interest_rate_bp int
        interest_cents int
        indemnity_cents int
        ever_rejected flag
        ever_returned flag
        """
    ),
    f"""
    WITH setting AS MATERIALIZED (
        SELECT
            ecb_rate_bp + {LATE_INTEREST_MARGIN_BP} AS late_interest_rate_bp,
            COALESCE(as_of_date, @today()) AS as_of_date
        FROM v_legal_setting
    ),
    invoices AS MATERIALIZED (
        SELECT
            c.invoice_id,
            c.cooperative,
            c.supplier_siret,
            c.invoice_number,
            c.invoice_type,
            c.invoice_date,
            c.entrepreneur_code,
            c.entrepreneur_name,
            c.buyer_siret,
            c.buyer_name,
            c.total_ttc_cents,
            c.stage,
            c.current_status,
            c.current_status_date,
            c.deposit_date,
            @utc_date(c.paid_at) AS paid_date,
            c.payment_not_reported,
            c.ever_rejected,
            c.ever_returned,
            COALESCE(c.buyer_siret, '') AS siret_key,
            COALESCE(c.buyer_name, '') AS name_key
        FROM v_invoice_current c
    ),
    buyers AS MATERIALIZED (
        SELECT DISTINCT siret_key, name_key FROM invoices
    ),
    kinds AS MATERIALIZED (
        SELECT
            b.siret_key,
            b.name_key,
            CASE
                WHEN o.kind IS NOT NULL THEN o.kind
                WHEN {_name_matches(HOSPITAL_SUBSTRINGS, HOSPITAL_WORDS)} THEN 'hospital'
                WHEN {_name_matches(PUBLIC_COMPANY_SUBSTRINGS, PUBLIC_COMPANY_WORDS)}
                    THEN 'public_company'
                WHEN SUBSTR(b.siret_key, 1, 1) = '1' THEN 'state'
                ELSE 'local'
            END AS buyer_kind
        FROM (
            SELECT
                siret_key,
                name_key,
                UPPER(name_key) AS upper_name,
                {_word_name("UPPER(name_key)")} AS word_name
            FROM buyers
        ) b
        LEFT JOIN v_buyer_kind_setting o ON o.buyer_siret = b.siret_key
    ),
    dated AS MATERIALIZED (
        SELECT
            i.*,
            k.buyer_kind,
            s.as_of_date,
            s.late_interest_rate_bp,
            CASE WHEN {_DELAY_APPLIES} THEN {_DELAY_CASE} END AS legal_delay_days,
            CASE WHEN {_DELAY_APPLIES} THEN @add_days(i.deposit_date, {_DELAY_CASE}) END
                AS due_date,
            @days_between(i.paid_date, i.deposit_date) AS days_to_payment
        FROM invoices i
        JOIN kinds k ON k.siret_key = i.siret_key AND k.name_key = i.name_key
        CROSS JOIN setting s
    ),
    late AS (
        SELECT
            d.*,
            CASE
                WHEN d.legal_delay_days IS NULL THEN 0
                WHEN d.stage = 'paid' AND d.paid_date IS NOT NULL
                    THEN @days_between(d.paid_date, d.due_date)
                WHEN d.stage = 'in_progress' THEN @days_between(d.as_of_date, d.due_date)
                ELSE 0
            END AS signed_days_late
        FROM dated d
    )
    SELECT
        l.invoice_id,
        l.cooperative,
        l.supplier_siret,
        l.invoice_number,
        l.invoice_type,
        l.invoice_date,
        l.entrepreneur_code,
        l.entrepreneur_name,
        l.buyer_siret,
        l.buyer_name,
        l.total_ttc_cents,
        l.stage,
        l.current_status,
        l.current_status_date,
        l.deposit_date,
        l.paid_date,
        CASE WHEN l.stage = 'paid' AND l.payment_not_reported = 1 THEN 1 ELSE 0 END
            AS payment_inferred,
        l.days_to_payment,
        l.buyer_kind,
        l.legal_delay_days,
        l.due_date,
        l.as_of_date,
        CASE WHEN l.stage = 'in_progress' AND l.signed_days_late > 0 THEN 1 ELSE 0 END
            AS is_overdue,
        CASE WHEN l.signed_days_late > 0 THEN l.signed_days_late ELSE 0 END AS days_late,
        l.late_interest_rate_bp,
        -- cents × bp × days / (365 days × 10,000 bp per unit), rounded half up, in integers
        CASE
            WHEN l.signed_days_late > 0 THEN
                {late_interest_sql("l.total_ttc_cents", "l.late_interest_rate_bp", "l.signed_days_late")}
            ELSE 0
        END AS interest_cents,
        CASE WHEN l.signed_days_late > 0 THEN {INDEMNITY_CENTS} ELSE 0 END AS indemnity_cents,
        l.ever_rejected,
        l.ever_returned
    FROM late l
    """,
)

_SUMMARY_FIGURES = (
    """
    invoice_count int
    total_ttc_cents int
"""
    + "".join(f"{stage}_count int\n{stage}_ttc_cents int\n" for stage in STAGES)
    + """
    outstanding_count int
    outstanding_ttc_cents int
    overdue_count int
    overdue_ttc_cents int
    paid_late_count int
    interest_cents int
    indemnity_cents int
    median_days_to_payment float
    rejected_count int
    returned_count int
"""
)


#: How the summary views name their one input; `over` swaps it for a snapshot table.
LIFECYCLE_SOURCE = f"FROM {INVOICE_LIFECYCLE.name}"

#: The lifecycle columns the summaries read (fewer columns through the window sorts).
_SUMMARY_INPUTS = (
    "entrepreneur_code",
    "entrepreneur_name",
    "invoice_type",
    "stage",
    "total_ttc_cents",
    "days_to_payment",
    "is_overdue",
    "days_late",
    "interest_cents",
    "indemnity_cents",
    "ever_rejected",
    "ever_returned",
)


def _summary_sql(keys: tuple[str, ...], extra: str, extra_name: str) -> str:
    """Per-group figures in one pass over the lifecycle; the median apart, over paid invoices
    only (the mean of the middle one or two ranked delays), so that its sort stays narrow."""
    group = ", ".join(f"l.{key}" for key in keys)
    same_group = " AND ".join(
        f"(m.{key} = f.{key} OR (m.{key} IS NULL AND f.{key} IS NULL))" for key in keys
    )
    inputs = ", ".join(dict.fromkeys((*keys, *_SUMMARY_INPUTS)))
    figures = [c.name for c in _columns(_SUMMARY_FIGURES)]
    outputs = ", ".join(
        [f"f.{key}" for key in (*keys, extra_name)]
        + [f"{'m' if name == 'median_days_to_payment' else 'f'}.{name}" for name in figures]
    )
    stages = "".join(
        f"""
            SUM(CASE WHEN l.stage = '{stage}' THEN 1 ELSE 0 END) AS {stage}_count,
            CAST(SUM(CASE WHEN l.stage = '{stage}' THEN l.total_ttc_cents ELSE 0 END) AS BIGINT)
                AS {stage}_ttc_cents,"""
        for stage in STAGES
    )
    outstanding = "l.invoice_type = 'FACTURE' AND l.stage IN ('in_progress', 'paused')"
    return f"""
    WITH lifecycle AS MATERIALIZED (
        SELECT {inputs} {LIFECYCLE_SOURCE}
    ),
    paid AS (
        SELECT
            {group},
            l.days_to_payment,
            ROW_NUMBER() OVER (PARTITION BY {group} ORDER BY l.days_to_payment) AS payment_rank,
            COUNT(*) OVER (PARTITION BY {group}) AS payment_count
        FROM lifecycle l
        WHERE l.days_to_payment IS NOT NULL
    ),
    median AS (
        SELECT
            {group},
            AVG(CAST(l.days_to_payment AS DOUBLE PRECISION)) AS median_days_to_payment
        FROM paid l
        WHERE l.payment_rank IN ((l.payment_count + 1) / 2, (l.payment_count + 2) / 2)
        GROUP BY {group}
    ),
    figures AS (
        SELECT
            {group},
            {extra} AS {extra_name},
            COUNT(*) AS invoice_count,
            CAST(SUM(l.total_ttc_cents) AS BIGINT) AS total_ttc_cents,{stages}
            SUM(CASE WHEN {outstanding} THEN 1 ELSE 0 END) AS outstanding_count,
            CAST(SUM(CASE WHEN {outstanding} THEN l.total_ttc_cents ELSE 0 END) AS BIGINT)
                AS outstanding_ttc_cents,
            SUM(l.is_overdue) AS overdue_count,
            CAST(SUM(CASE WHEN l.is_overdue = 1 THEN l.total_ttc_cents ELSE 0 END) AS BIGINT)
                AS overdue_ttc_cents,
            SUM(CASE WHEN l.stage = 'paid' AND l.days_late > 0 THEN 1 ELSE 0 END)
                AS paid_late_count,
            CAST(SUM(l.interest_cents) AS BIGINT) AS interest_cents,
            CAST(SUM(l.indemnity_cents) AS BIGINT) AS indemnity_cents,
            NULL AS median_days_to_payment,
            SUM(l.ever_rejected) AS rejected_count,
            SUM(l.ever_returned) AS returned_count
        FROM lifecycle l
        GROUP BY {group}
    )
    SELECT {outputs}
    FROM figures f
    LEFT JOIN median m ON {same_group}
    """


ENTREPRENEUR_SUMMARY = View(
    "v_entrepreneur_summary",
    _columns(
        """
        cooperative text
        supplier_siret text
        entrepreneur_code text
        entrepreneur_name text
        """
        + _SUMMARY_FIGURES
    ),
    _summary_sql(
        ("cooperative", "supplier_siret", "entrepreneur_code"),
        "MAX(l.entrepreneur_name)",
        "entrepreneur_name",
    ),
)

STRUCTURE_SUMMARY = View(
    "v_structure_summary",
    _columns(
        """
        cooperative text
        supplier_siret text
        entrepreneur_count int
        """
        + _SUMMARY_FIGURES
    ),
    _summary_sql(
        ("cooperative", "supplier_siret"),
        "COUNT(DISTINCT l.entrepreneur_code)",
        "entrepreneur_count",
    ),
)

REJECTION = View(
    "v_rejection",
    _columns(
        """
        status_event_id int
        invoice_id int
        cooperative text
        supplier_siret text
        invoice_number text
        entrepreneur_code text
        entrepreneur_name text
        buyer_siret text
        buyer_name text
        total_ttc_cents int
        status text
        status_at timestamp
        status_date date
        reason text
        handled flag
        """
    ),
    f"""
    WITH last_event AS (
        SELECT invoice_id, MAX(status_at) AS last_at FROM status_event GROUP BY invoice_id
    ),
    replaced AS (
        SELECT DISTINCT supplier_siret, original_invoice_number AS invoice_number
        FROM invoice
        WHERE original_invoice_number IS NOT NULL
    )
    SELECT
        e.id AS status_event_id,
        e.invoice_id,
        @cooperative(i) AS cooperative,
        i.supplier_siret,
        i.invoice_number,
        i.entrepreneur_code,
        en.name AS entrepreneur_name,
        i.buyer_siret,
        COALESCE(i.buyer_name, b.designation) AS buyer_name,
        i.total_ttc_cents,
        e.status,
        e.status_at,
        @utc_date(e.status_at) AS status_date,
        e.comment AS reason,
        CASE
            WHEN l.last_at > e.status_at THEN 1
            WHEN e.status = {_lit(REJECTED)} AND r.invoice_number IS NOT NULL THEN 1
            ELSE 0
        END AS handled
    FROM status_event e
    JOIN invoice i ON i.id = e.invoice_id
    JOIN last_event l ON l.invoice_id = e.invoice_id
    LEFT JOIN replaced r
        ON r.supplier_siret = i.supplier_siret AND r.invoice_number = i.invoice_number
    LEFT JOIN entrepreneur en
        ON en.supplier_siret = i.supplier_siret AND en.code = i.entrepreneur_code
    LEFT JOIN buyer_structure b ON b.siret = i.buyer_siret
    WHERE e.status IN {_in((REJECTED, *PAUSED))}
    """,
)

PIPELINE_RUN = View(
    "v_pipeline_run",
    _columns(
        """
        run_id int
        flow text
        cooperative text
        flow_run_id text
        started_at timestamp
        finished_at timestamp
        duration_seconds int
        outcome text
        counts_json text
        message text
        """
    ),
    """
    SELECT
        r.id AS run_id,
        r.flow,
        @cooperative(r) AS cooperative,
        r.flow_run_id,
        r.started_at,
        r.finished_at,
        @seconds_between(r.finished_at, r.started_at) AS duration_seconds,
        r.outcome,
        r.counts_json,
        r.message
    FROM pipeline_run r
    """,
)

#: In creation order: each view only reads tables and the views before it.
VIEWS: tuple[View, ...] = (
    LEGAL_SETTING,
    BUYER_KIND_SETTING,
    INVOICE_PAYMENT,
    INVOICE_CURRENT,
    INVOICE_LIFECYCLE,
    ENTREPRENEUR_SUMMARY,
    STRUCTURE_SUMMARY,
    REJECTION,
    PIPELINE_RUN,
)

# --- dialects ------------------------------------------------------------------------------------

_MACROS: dict[str, dict[str, Callable[..., str]]] = {
    "sqlite": {
        "today": lambda: "DATE('now')",
        "utc_date": lambda ts: f"DATE({ts})",
        "days_between": lambda later, earlier: (
            f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"
        ),
        "add_days": lambda day, days: f"DATE({day}, '+' || ({days}) || ' days')",
        "seconds_between": lambda later, earlier: (
            f"CAST(ROUND((julianday({later}) - julianday({earlier})) * 86400) AS INTEGER)"
        ),
    },
    "postgresql": {
        "today": lambda: "CAST(timezone('UTC', CURRENT_TIMESTAMP) AS DATE)",
        "utc_date": lambda ts: f"CAST(timezone('UTC', {ts}) AS DATE)",
        "days_between": lambda later, earlier: f"({later} - {earlier})",
        "add_days": lambda day, days: f"({day} + {days})",
        "seconds_between": lambda later, earlier: (
            f"CAST(ROUND(EXTRACT(EPOCH FROM ({later} - {earlier}))) AS BIGINT)"
        ),
    },
}
_MACRO = re.compile(r"@([a-z_]+)\(([^()]*)\)")


#: What `@cooperative(alias)` reads before revision 0005 gave the tables the column.
_NO_COOPERATIVE = "CAST(NULL AS VARCHAR(40))"


def render(sql: str, dialect: str, *, cooperative_columns: bool = True) -> str:
    """Expands the `@macro(args)` of a view's SQL for one dialect (`sqlite` or `postgresql`).

    `@cooperative(alias)` is the table's `cooperative` column. Revisions 0002 to 0004 create
    the views before the tables have it (`cooperative_columns=False`): there it reads NULL, so
    that a warehouse migrated step by step has the same views, and 0005 recreates them whole.
    """
    try:
        macros = _MACROS[dialect]
    except KeyError:
        raise ValueError(f"no view SQL for the {dialect!r} dialect") from None

    def expand(match: re.Match[str]) -> str:
        args = [a.strip() for a in match.group(2).split(",") if a.strip()]
        if match.group(1) == "cooperative":
            (alias,) = args
            return f"{alias}.cooperative" if cooperative_columns else _NO_COOPERATIVE
        return macros[match.group(1)](*args)

    rendered = _MACRO.sub(expand, sql)
    if "@" in rendered:
        raise ValueError(f"unexpanded macro in view SQL: {rendered[rendered.index('@') :][:60]}")
    return rendered


def over(view: View, dialect: str, snapshot: str) -> str:
    """A summary view's own SQL reading the lifecycle from `snapshot` (a table holding
    `SELECT * FROM v_invoice_lifecycle`) instead of the view.

    The lifecycle is the costly view; the report evaluates it once into a temporary table and
    runs the summary's SQL over that, so its figures are the view's without a second evaluation.
    """
    assert view.sql is not None and view.sql.count(LIFECYCLE_SOURCE) == 1, view.name
    return render(view.sql.replace(LIFECYCLE_SOURCE, f"FROM {snapshot}"), dialect)


def legal_setting_sql(
    ecb_rate_percent: float, as_of: date | None = None, dialect: str = "postgresql"
) -> str:
    """The ECB rate, and the date the dashboards judge lateness on: the pipeline's as-of date
    when a report was rendered for one (a backfill, the demo's simulated days), else NULL, which
    the views read as today (UTC)."""
    if dialect == "sqlite":  # dates are ISO text there, as DATE('now') gives them
        day = _lit(as_of.isoformat()) if as_of is not None else "NULL"
    else:
        day = f"CAST({_lit(as_of.isoformat()) if as_of is not None else 'NULL'} AS DATE)"
    return (
        f"SELECT CAST({ecb_rate_bp(ecb_rate_percent)} AS INTEGER) AS ecb_rate_bp, "
        f"{day} AS as_of_date"
    )


def buyer_kind_setting_sql(buyer_kinds: Mapping[str, str]) -> str:
    """The `buyer_kinds` setting as literal rows; every column is TEXT so that PostgreSQL's
    CREATE OR REPLACE VIEW accepts any new set of rows."""
    unknown = {kind for kind in buyer_kinds.values() if kind not in DELAYS}
    if unknown:
        raise ValueError(
            f"buyer_kinds setting: unknown kind(s) {sorted(unknown)}; use one of {sorted(DELAYS)}"
        )
    if not buyer_kinds:
        return "SELECT CAST(NULL AS TEXT) AS buyer_siret, CAST(NULL AS TEXT) AS kind WHERE 1 = 0"
    return "\nUNION ALL\n".join(
        f"SELECT CAST({_lit(siret)} AS TEXT) AS buyer_siret, CAST({_lit(kind)} AS TEXT) AS kind"
        for siret, kind in sorted(buyer_kinds.items())
    )


def view_sql(
    view: View,
    dialect: str,
    *,
    ecb_rate_percent: float,
    buyer_kinds: Mapping[str, str],
    cooperative_columns: bool = True,
) -> str:
    if view is LEGAL_SETTING:
        return legal_setting_sql(ecb_rate_percent, None, dialect)
    if view is BUYER_KIND_SETTING:
        return buyer_kind_setting_sql(buyer_kinds)
    assert view.sql is not None
    return render(view.sql, dialect, cooperative_columns=cooperative_columns)


def create_statements(
    dialect: str,
    *,
    ecb_rate_percent: float,
    buyer_kinds: Mapping[str, str],
    cooperative_columns: bool = True,
) -> list[str]:
    """CREATE VIEW for every view, dependencies first (what migrations 0002 and 0005 run;
    `cooperative_columns` as in `render`)."""
    return [
        f"CREATE VIEW {view.name} AS\n"
        + view_sql(
            view,
            dialect,
            ecb_rate_percent=ecb_rate_percent,
            buyer_kinds=buyer_kinds,
            cooperative_columns=cooperative_columns,
        )
        for view in VIEWS
    ]


def drop_statements() -> list[str]:
    """DROP VIEW for every view, dependents first."""
    return [f"DROP VIEW IF EXISTS {view.name}" for view in reversed(VIEWS)]


def replace_statements(dialect: str, view: View, select_sql: str) -> list[str]:
    """New SQL for a view others depend on: PostgreSQL replaces it in place (same columns and
    types), SQLite checks dependencies only at query time, so dropping it first is safe there."""
    if dialect == "postgresql":
        return [f"CREATE OR REPLACE VIEW {view.name} AS\n{select_sql}"]
    return [f"DROP VIEW IF EXISTS {view.name}", f"CREATE VIEW {view.name} AS\n{select_sql}"]
