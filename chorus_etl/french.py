"""How amounts and file sizes are written for French readers: in alerts, refusal reasons and PDFs;
and amounts as the export spells them, for logs, reasons' values and JSON.

People-facing text is in French, and the same amount must read the same in the alert an
entrepreneur gets, the reason an invoice was refused and the sample invoice it came from.
"""

from __future__ import annotations

__all__ = ["format_euros", "format_megabytes", "group_digits", "plain_amount"]

#: What separates thousands: a non-breaking space in messages (mail clients and PDF text
#: extraction know it), a narrow one on the dashboards' pages.
NBSP = "\u00a0"


def group_digits(value: int | float, thousands: str = NBSP) -> str:
    """`1234567` → "1 234 567"; a float is rounded to the unit."""
    return f"{value:,.0f}".replace(",", thousands)


def format_euros(cents: int, thousands: str = NBSP) -> str:
    """The French spelling of an amount, "1 234,56 €", with non-breaking spaces as typographers do."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{group_digits(units, thousands)},{rest:02d}{NBSP}€"


def plain_amount(cents: int) -> str:
    """`-1234.56`: the export's own spelling, exact (no float on the way)."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{units}.{rest:02d}"


def format_megabytes(size_bytes: int) -> str:
    """A file size as French users read it: "10,2 Mo", "10 Mo" (mebibytes, as Chorus Pro counts them)."""
    tenths = round(size_bytes * 10 / (1024 * 1024))
    units, tenth = divmod(tenths, 10)
    return f"{units} Mo" if tenth == 0 else f"{units},{tenth} Mo"
