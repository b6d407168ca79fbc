"""Revision 0005 on a warehouse that already holds rows: each one gets its cooperative from the
accounts as they are configured, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from chorus_etl import db
from schemas.views import ENTREPRENEUR_SUMMARY, INVOICE_CURRENT
from schemas.warehouse import Invoice, UTCDateTime
from tests.dashboard.helpers import records
from tests.fixtures.isolation import ANTIGONE, ARTENREEL, INSTALLATION, use_two_cooperatives

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
UNKNOWN_SIRET = "12345678900000"


def _insert(connection: sa.Connection, table_name: str, /, **values: Any) -> int:
    """A row as revision 0004 knew the table: raw columns, no model."""
    columns = [
        sa.column(key, UTCDateTime() if isinstance(value, datetime) else None)
        for key, value in values.items()
    ]
    table = sa.table(table_name, *columns, sa.column("id"))
    return int(connection.execute(sa.insert(table).values(**values).returning(table.c.id)).one()[0])


def _export(connection: sa.Connection, path: str, **more: Any) -> int:
    return _insert(
        connection,
        "export_file",
        path=path,
        content_hash=path,
        ingested_at=NOW,
        row_count=0,
        invoice_count=0,
        ready_count=0,
        invalid_count=0,
        **more,
    )


def _invoice(connection: sa.Connection, siret: str, number: str, export_id: int) -> int:
    return _insert(
        connection,
        "invoice",
        supplier_siret=siret,
        invoice_number=number,
        invoice_type="FACTURE",
        entrepreneur_code="E001",
        currency="EUR",
        payment_mode="VIREMENT",
        amount_ht_cents=1000,
        amount_vat_cents=200,
        total_ttc_cents=1200,
        attachments_json="[]",
        state="ready" if siret != UNKNOWN_SIRET else "invalid",
        export_file_id=export_id,
        created_at=NOW,
        updated_at=NOW,
    )


def _alert(connection: sa.Connection, key: str, invoice_id: int | None) -> int:
    return _insert(
        connection,
        "alert",
        dedupe_key=key,
        kind=key.split(":")[0],
        invoice_id=invoice_id,
        audience="accounting",
        recipient="compta@example.org",
        subject="s",
        body="b",
        status="pending",
        attempts=0,
        created_at=NOW,
    )


def _cooperatives(connection: sa.Connection, table: str) -> dict[int, str | None]:
    rows = connection.execute(sa.text(f"SELECT id, cooperative FROM {table}"))
    return {int(i): c for i, c in rows}


def test_existing_rows_get_their_cooperative_from_the_accounts(
    any_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_two_cooperatives(monkeypatch, tmp_path)
    db.upgrade(any_db_url, "0004")
    engine = db.make_engine(any_db_url)
    try:
        with engine.begin() as connection:
            only_antigone = _export(connection, "/inbox/antigone")
            mixed = _export(connection, "/inbox/both")
            empty = _export(connection, "/inbox/unreadable")
            antigone_1 = _invoice(connection, ANTIGONE.siret, "FC-001", only_antigone)
            artenreel_1 = _invoice(connection, ARTENREEL.siret, "FC-001", mixed)
            antigone_2 = _invoice(connection, ANTIGONE.siret, "FC-002", mixed)
            stray = _invoice(connection, UNKNOWN_SIRET, "FC-003", only_antigone)
            people = {
                siret: _insert(
                    connection,
                    "entrepreneur",
                    supplier_siret=siret,
                    code="E001",
                    name=f"E001 of {siret}",
                    email=f"{siret}@example.org",
                    updated_at=NOW,
                )
                for siret in (ANTIGONE.siret, ARTENREEL.siret, UNKNOWN_SIRET)
            }
            on_antigone = _alert(connection, f"rejetee:{ANTIGONE.siret}:FC-001:a", antigone_1)
            on_artenreel = _alert(connection, f"rejetee:{ARTENREEL.siret}:FC-001:a", artenreel_1)
            password = _alert(
                connection, f"password_expiring:{ARTENREEL.siret}:2026-12-20:accounting", None
            )
            other = _alert(connection, "notice", None)
            run = _insert(
                connection,
                "pipeline_run",
                flow="nightly",
                started_at=NOW,
                outcome="completed",
                counts_json="{}",
            )

        db.upgrade(any_db_url)

        with engine.connect() as connection:
            assert _cooperatives(connection, "invoice") == {
                antigone_1: ANTIGONE.id,
                artenreel_1: ARTENREEL.id,
                antigone_2: ANTIGONE.id,
                stray: INSTALLATION,
            }
            assert _cooperatives(connection, "entrepreneur") == {
                people[ANTIGONE.siret]: ANTIGONE.id,
                people[ARTENREEL.siret]: ARTENREEL.id,
                people[UNKNOWN_SIRET]: INSTALLATION,
            }
            assert _cooperatives(connection, "alert") == {
                on_antigone: ANTIGONE.id,
                on_artenreel: ARTENREEL.id,
                password: ARTENREEL.id,
                other: INSTALLATION,
            }
            # only_antigone also holds the stray invoice, which is the installation's: mixed too.
            assert _cooperatives(connection, "export_file") == {
                only_antigone: INSTALLATION,
                mixed: INSTALLATION,
                empty: INSTALLATION,
            }
            assert _cooperatives(connection, "pipeline_run") == {run: None}

        for cooperative, numbers in ((ANTIGONE, ["FC-001", "FC-002"]), (ARTENREEL, ["FC-001"])):
            rows = records(engine, INVOICE_CURRENT, cooperative=cooperative.id)
            assert sorted(r["invoice_number"] for r in rows) == numbers
            assert {r["supplier_siret"] for r in rows} == {cooperative.siret}
            assert {r["entrepreneur_name"] for r in rows} == {f"E001 of {cooperative.siret}"}
        summaries = records(engine, ENTREPRENEUR_SUMMARY, entrepreneur_code="E001")
        assert sorted((r["cooperative"], r["invoice_count"]) for r in summaries) == [
            (ANTIGONE.id, 2),
            (ARTENREEL.id, 1),
            (INSTALLATION, 1),
        ]
    finally:
        engine.dispose()


def test_an_export_of_one_cooperative_is_that_cooperative_s(
    any_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_two_cooperatives(monkeypatch, tmp_path)
    db.upgrade(any_db_url, "0004")
    engine = db.make_engine(any_db_url)
    try:
        with engine.begin() as connection:
            export = _export(connection, "/inbox/artenreel")
            _invoice(connection, ARTENREEL.siret, "FC-001", export)
            _invoice(connection, ARTENREEL.siret, "FC-002", export)
        db.upgrade(any_db_url)
        with engine.connect() as connection:
            assert _cooperatives(connection, "export_file") == {export: ARTENREEL.id}
    finally:
        engine.dispose()


def test_without_an_accounts_file_everything_is_the_single_cooperative(
    any_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHORUS_ETL_ACCOUNTS_FILE", raising=False)
    monkeypatch.setenv("CHORUS_ETL_COOPERATIVE_ID", "cooproduction")
    db.upgrade(any_db_url, "0004")
    engine = db.make_engine(any_db_url)
    try:
        with engine.begin() as connection:
            export = _export(connection, "/inbox/both")
            _invoice(connection, ANTIGONE.siret, "FC-001", export)
            _invoice(connection, ARTENREEL.siret, "FC-001", export)
        db.upgrade(any_db_url)
        with engine.connect() as connection:
            assert set(_cooperatives(connection, "invoice").values()) == {"cooproduction"}
            assert set(_cooperatives(connection, "export_file").values()) == {"cooproduction"}
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_refuses_a_row_without_its_cooperative(postgres_url: str) -> None:
    """The migration's default only filled the existing rows; SQLite cannot drop it."""
    db.upgrade(postgres_url)
    engine = db.make_engine(postgres_url)
    try:
        with engine.begin() as connection:
            export = _export(connection, "/inbox/x", cooperative=ANTIGONE.id)
        with engine.connect() as connection, pytest.raises(sa.exc.IntegrityError):
            _invoice(connection, ANTIGONE.siret, "FC-001", export)
        with engine.connect() as connection, pytest.raises(sa.exc.IntegrityError):
            _export(connection, "/inbox/y")
        with Session(engine) as session:
            session.add(Invoice(supplier_siret=ANTIGONE.siret, invoice_number="FC-002"))
            with pytest.raises(sa.exc.IntegrityError):
                session.commit()
    finally:
        engine.dispose()


def test_the_orm_refuses_an_invoice_without_its_cooperative_on_sqlite(sqlite_url: str) -> None:
    db.upgrade(sqlite_url)
    engine = db.make_engine(sqlite_url)
    try:
        with Session(engine) as session:
            session.add(Invoice(supplier_siret=ANTIGONE.siret, invoice_number="FC-002"))
            with pytest.raises(sa.exc.IntegrityError):
                session.commit()
    finally:
        engine.dispose()
