"""The schema comes from Alembic on both engines, matches the models, and upgrades idempotently."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from chorus_etl import db
from cli import app
from schemas.warehouse import METADATA, Invoice, StatusEvent


def _schema(url: str) -> dict[str, object]:
    engine = db.make_engine(url)
    try:
        inspector = sa.inspect(engine)
        return {
            table: {
                "columns": sorted(c["name"] for c in inspector.get_columns(table)),
                "unique": sorted(
                    tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)
                ),
                "indexes": sorted(
                    i["name"] or ""
                    for i in inspector.get_indexes(table)
                    if not i.get("duplicates_constraint")
                ),
            }
            for table in sorted(inspector.get_table_names())
        }
    finally:
        engine.dispose()


def test_upgrade_creates_every_table_and_matches_the_models(any_db_url: str) -> None:
    db.upgrade(any_db_url)
    schema = _schema(any_db_url)
    assert set(schema) == {*METADATA.tables, "alembic_version"}
    engine = db.make_engine(any_db_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), METADATA)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"


def test_sqlite_and_postgres_get_the_same_schema(sqlite_url: str, postgres_url: str) -> None:
    db.upgrade(sqlite_url)
    db.upgrade(postgres_url)
    assert _schema(sqlite_url) == _schema(postgres_url)


def test_running_upgrade_twice_changes_nothing(any_db_url: str) -> None:
    db.upgrade(any_db_url)
    first = _schema(any_db_url)
    revision = db.current_revision(any_db_url)
    db.upgrade(any_db_url)
    assert _schema(any_db_url) == first
    assert db.current_revision(any_db_url) == revision is not None


def _invoice(number: str = "FC0142-24") -> Invoice:
    return Invoice(
        cooperative="cooproduction",
        supplier_siret="51858054300107",
        invoice_number=number,
        invoice_date=date(2026, 11, 2),
        total_ttc_cents=120_000,
    )


def test_a_second_invoice_with_the_same_supplier_and_number_is_refused(
    any_warehouse: Engine,
) -> None:
    with Session(any_warehouse) as session:
        session.add(_invoice())
        session.commit()
    with Session(any_warehouse) as session:
        session.add(_invoice())
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()
    with Session(any_warehouse) as session:
        other_supplier = _invoice()
        other_supplier.supplier_siret = "47840796800054"
        session.add(other_supplier)
        session.commit()
        assert session.scalar(sa.select(sa.func.count()).select_from(Invoice)) == 2


def test_status_events_are_unique_per_invoice_status_and_time(any_warehouse: Engine) -> None:
    at = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    with Session(any_warehouse) as session:
        invoice = _invoice()
        session.add(invoice)
        session.flush()
        assert invoice.id is not None
        session.add(StatusEvent(invoice_id=invoice.id, status="DEPOSEE", status_at=at))
        session.commit()
        invoice_id = invoice.id
    with Session(any_warehouse) as session:
        session.add(StatusEvent(invoice_id=invoice_id, status="DEPOSEE", status_at=at))
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()
    with Session(any_warehouse) as session:
        stored = session.scalars(sa.select(StatusEvent)).one()
        assert stored.status_at == at


def test_invoice_state_is_checked_by_the_database(any_warehouse: Engine) -> None:
    with Session(any_warehouse) as session:
        invoice = _invoice()
        invoice.state = "lost"
        session.add(invoice)
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()


def test_cli_db_upgrade_reports_json(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHORUS_ETL_DATABASE_URL", sqlite_url)
    runner = CliRunner()
    first = runner.invoke(app, ["db", "upgrade", "--json"])
    assert first.exit_code == 0, first.output
    assert '"from_revision": null' in first.output
    second = runner.invoke(app, ["db", "upgrade"])
    assert second.exit_code == 0, second.output
    assert "already at revision" in second.output


def test_revision_0006_admits_conflict_on_a_warehouse_holding_rows(any_db_url: str) -> None:
    """The state constraint only gains `conflict`: rows stay, a downgrade maps it back."""
    db.upgrade(any_db_url, "0005")
    engine = db.make_engine(any_db_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO invoice (cooperative, supplier_siret, invoice_number, "
                    "invoice_type, currency, payment_mode, amount_ht_cents, amount_vat_cents, "
                    "total_ttc_cents, attachments_json, state, chorus_invoice_id, created_at, "
                    "updated_at) VALUES ('cooproduction', '51858054300107', 'F-1', 'FACTURE', "
                    "'EUR', 'VIREMENT', 100, 20, 120, '[]', 'deposited', 7, :now, :now)"
                ),
                {"now": datetime(2026, 11, 3, tzinfo=UTC)},
            )
        db.upgrade(any_db_url)
        with Session(engine) as session:
            kept = session.scalars(sa.select(Invoice)).one()
            assert kept.deposit_origin == "pipeline"
            kept.state = "conflict"
            session.add(kept)
            session.commit()
        command.downgrade(db.alembic_config(any_db_url), "0005")
        with engine.connect() as connection:
            state = connection.execute(sa.text("SELECT state FROM invoice")).scalar()
        assert state == "deposit_failed"
    finally:
        engine.dispose()


def test_revision_0011_moves_delivered_channels_out_of_last_error(any_db_url: str) -> None:
    db.upgrade(any_db_url, "0010")
    engine = db.make_engine(any_db_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO alert (cooperative, dedupe_key, kind, audience, recipient, "
                    "subject, body, status, attempts, last_error, created_at) VALUES "
                    "('cooproduction', 'k1', 'rejetee', 'accounting', 'a@b.fr', 's', 'b', "
                    "'pending', 1, '[delivered: chat,mail] smtp: refused', :now)"
                ),
                {"now": datetime(2026, 11, 3, tzinfo=UTC)},
            )
        db.upgrade(any_db_url)
        with engine.connect() as connection:
            channels = connection.execute(
                sa.text("SELECT channel FROM alert_delivery ORDER BY channel")
            ).scalars()
            assert list(channels) == ["chat", "mail"]
            error = connection.execute(sa.text("SELECT last_error FROM alert")).scalar()
        assert error == "smtp: refused"
    finally:
        engine.dispose()
