"""`group_invoices` works on whole columns; it must give what the per-invoice version gave.

The reference below is the straightforward version it replaced (pandas calls per invoice, too slow
at 10,000 invoices), building its reasons with the same message helpers: same drafts, in the
same order, with the same header values (plain Python types, no numpy scalars) and the
same reasons in the same order, on a sample export with every kind of error plus rows that make
invoices disagree, carry unparseable cells or unknown entrepreneurs.
"""

from __future__ import annotations

import random
from datetime import date

import numpy as np
import pandas as pd
import pytest

from schemas.export import HEADER_COLUMNS
from schemas.issues import Reason
from tasks.ingest.extract import LINE, read_invoices
from tasks.ingest.validate import (
    EntrepreneurEntry,
    InvoiceDraft,
    VatLine,
    _disagreement,
    _duplicate_rate,
    _entrepreneur_reason,
    _total_mismatch,
    group_invoices,
    schema_reasons,
    typed_frame,
)
from tasks.sample.export import generate_export

TODAY = date(2026, 11, 27)


def _reference_header(row: pd.Series) -> dict[str, object]:
    """The first row's values, numpy scalars as the Python values they stand for."""
    return {
        c: None
        if row[c] is None or pd.isna(row[c]) or row[c] == ""
        else row[c].item()
        if isinstance(row[c], np.generic)
        else row[c]
        for c in HEADER_COLUMNS
    }


def _reference(
    frame: pd.DataFrame,
    row_reasons: dict[int, list[Reason]],
    entrepreneurs: dict[tuple[str, str], EntrepreneurEntry] | None,
) -> list[InvoiceDraft]:
    drafts = []
    for (supplier, number), rows in frame.groupby(
        ["supplier_siret", "invoice_number"], sort=False, dropna=False
    ):
        draft = InvoiceDraft(
            str(supplier),
            str(number),
            [int(v) for v in rows[LINE]],
            _reference_header(rows.iloc[0]),
            [],
        )
        seen: set[str] = set()
        for index in rows.index:
            for reason in row_reasons.get(int(index), []):
                if (key := f"{reason.rule}|{reason.column}|{reason.value}") not in seen:
                    seen.add(key)
                    draft.reasons.append(reason)
        disagreeing = [c for c in HEADER_COLUMNS if rows[c].astype(str).nunique(dropna=False) > 1]
        if disagreeing:
            draft.reasons.append(_disagreement(str(number), disagreeing))
        rates = [v for v in rows["vat_rate_bp"] if not pd.isna(v)]
        if len(rates) != len(set(rates)):
            draft.reasons.append(_duplicate_rate(str(number)))
        for _, row in rows.iterrows():
            if not any(
                pd.isna(row[c]) for c in ("vat_rate_bp", "amount_ht_cents", "amount_vat_cents")
            ):
                draft.vat_lines.append(
                    VatLine(
                        int(row["vat_rate_bp"]),
                        int(row["amount_ht_cents"]),
                        int(row["amount_vat_cents"]),
                        str(row["vat_exemption_reason"]) or None,
                    )
                )
        declared = draft.header.get("total_ttc_cents")
        if declared is not None and draft.valid and int(str(declared)) != draft.total_ttc_cents:
            draft.reasons.append(_total_mismatch(int(str(declared)), draft.total_ttc_cents))
        code = draft.get("entrepreneur_code")
        if entrepreneurs is not None and code is not None:
            codes = {("", key[1]) for key in entrepreneurs}
            unknown = _entrepreneur_reason(code, str(supplier), entrepreneurs, codes, "")
            draft.reasons += [unknown] if unknown else []
        drafts.append(draft)
    return drafts


def _comparable(draft: InvoiceDraft) -> tuple[object, ...]:
    return (
        draft.supplier_siret,
        draft.invoice_number,
        draft.lines,
        list(draft.header.items()),
        [type(v) for v in draft.header.values()],
        draft.vat_lines,
        draft.reasons,
    )


@pytest.fixture(scope="module")
def raw_export(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("exports") / "with-errors"
    generate_export(folder, invoices=150, seed_value=11, with_errors=True, today=TODAY)
    raw = read_invoices(folder).frame
    rng = random.Random(3)
    extra = raw.sample(30, random_state=1).copy()
    for column in ("total_ttc", "vat_rate", "amount_ht", "invoice_date", "buyer_name", "pdf_file"):
        extra.loc[rng.sample(list(extra.index), 6), column] = rng.choice(["", "x", "12,5", "nan"])
    return pd.concat([raw, extra], ignore_index=True)


@pytest.mark.parametrize("directory", ["half", "none"])
def test_grouped_checks_match_the_per_invoice_reference(
    raw_export: pd.DataFrame, directory: str
) -> None:
    frame, row_reasons = typed_frame(raw_export)
    sirets = frozenset(frame["supplier_siret"])
    for row, more in schema_reasons(frame, TODAY, sirets).items():
        row_reasons[row].extend(more)
    entrepreneurs: dict[tuple[str, str], EntrepreneurEntry] | None = None
    if directory == "half":
        pairs = sorted(set(zip(frame["supplier_siret"], frame["entrepreneur_code"], strict=True)))
        entrepreneurs = {
            (s, c): EntrepreneurEntry(c, "name", "mail@example.org", s) for s, c in pairs[::2]
        }

    got = group_invoices(frame, row_reasons, entrepreneurs)
    want = _reference(frame, row_reasons, entrepreneurs)

    assert [_comparable(d) for d in got] == [_comparable(d) for d in want]
    rules = {r.rule for d in got for r in d.reasons}
    assert {
        "invoice.lines_disagree",
        "invoice.duplicate_vat_rate",
        "invoice.total_mismatch",
    } <= rules
    if directory == "half":
        assert {"entrepreneur.unknown", "entrepreneur.wrong_structure"} & rules
