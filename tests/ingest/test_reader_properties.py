"""Hostile input never escapes the reader and validation as an exception; every row is accounted for."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.ingest.extract import read_invoices
from tasks.ingest.validate import validate_rows

VALID = (
    "numero_facture;date_facture;siret_fournisseur;code_entrepreneur;siret_client;client;"
    "code_service;taux_tva;montant_ht;montant_tva;montant_ttc;fichier_pdf\n"
    "FC0142-24;02/11/2026;51858054300107;ANT-E001;21670447800017;Mairie;28E;20;1 000,00;200,00;"
    "1 200,00;pdf/FC0142-24.pdf\n"
    "FC0143-24;2026-11-03;51858054300107;ANT-E002;21670447800017;Mairie;28E;5,5;100;5,50;;"
    "pdf/FC0143-24.pdf\n"
    "FC0143-24;2026-11-03;51858054300107;ANT-E002;21670447800017;Mairie;28E;20;10;2;;"
    "pdf/FC0143-24.pdf\n"
).encode("cp1252")


def _outcomes(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder)
        (path / "invoices.csv").write_bytes(data)
        table = read_invoices(path)
        if not table.readable:
            assert all(r.message_en and r.message_fr for r in table.reasons)
            return
        drafts = validate_rows(
            table.frame,
            today=date(2026, 11, 27),
            supplier_sirets=["51858054300107"],
            entrepreneurs=None,
        )
        lines = sorted(int(v) for v in table.frame["_line"])
        assert sorted(line for d in drafts for line in d.lines) == lines
        for draft in drafts:
            assert all(r.rule and r.message_fr and r.message_en for r in draft.reasons)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes_get_a_file_reason_or_per_row_outcomes(data: bytes) -> None:
    _outcomes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(VALID) - 1), st.integers(0, 255)),
        min_size=1,
        max_size=12,
    ),
    st.integers(min_value=0, max_value=len(VALID)),
)
def test_mutations_of_a_valid_file_never_raise(edits: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(VALID)
    for position, value in edits:
        data[position] = value
    _outcomes(bytes(data[:cut] if cut % 3 == 0 else data))
