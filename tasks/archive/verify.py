"""`chorus-etl archive verify`: the archive re-hashed against the warehouse.

Every file recorded in `archive_file` is read again: missing, or altered (another size or
SHA-256), it is listed; so are deposited invoices that have no archive yet (the next
`chorus-etl archive fetch`, or the nightly run, downloads them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from schemas.warehouse import ArchiveFile, Invoice
from tasks.archive.fetch import lacking
from tasks.preflight import sha256_of_file

_FILE = SQLModel.metadata.tables[str(ArchiveFile.__tablename__)]
_INVOICE = SQLModel.metadata.tables[str(Invoice.__tablename__)]


@dataclass
class VerifyReport:
    checked: int = 0
    missing: list[dict[str, Any]] = field(default_factory=list)
    altered: list[dict[str, Any]] = field(default_factory=list)
    not_fetched: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.altered)

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "ok": self.ok,
            "missing": self.missing,
            "altered": self.altered,
            "not_fetched": self.not_fetched,
        }


def verify_archive(engine: Engine, root: Path, sirets: Sequence[str] | None = None) -> VerifyReport:
    report = VerifyReport()
    query = (
        sa.select(
            _FILE.c.path,
            _FILE.c.sha256,
            _FILE.c.size_bytes,
            _INVOICE.c.supplier_siret,
            _INVOICE.c.invoice_number,
        )
        .join(_INVOICE, _INVOICE.c.id == _FILE.c.invoice_id)
        .order_by(_FILE.c.id)
    )
    if sirets:
        query = query.where(_INVOICE.c.supplier_siret.in_(list(sirets)))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    for row in rows:
        report.checked += 1
        where = {
            "supplier_siret": row.supplier_siret,
            "invoice_number": row.invoice_number,
            "path": row.path,
        }
        path = root / row.path
        if not path.is_file():
            report.missing.append(where)
            continue
        size = path.stat().st_size
        digest = sha256_of_file(path)
        if size != row.size_bytes or digest != row.sha256:
            report.altered.append(
                where | {"expected_sha256": row.sha256, "sha256": digest, "size_bytes": size}
            )
    report.not_fetched = [
        {"supplier_siret": i.supplier_siret, "invoice_number": i.invoice_number}
        for i in lacking(engine, sirets=sirets)
    ]
    return report
