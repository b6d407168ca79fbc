"""`ingest` flow: one export folder into the warehouse, every invoice `ready` or `invalid` with reasons."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, TypeVar, cast

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.utilities.annotations import quote

from chorus_etl.chorus_client import ChorusClients
from chorus_etl.log import get_logger
from chorus_etl.runs import flow_environment, recorded_run
from tasks import ingest as stages
from tasks.returns import record_complements

log = get_logger(__name__)

T = TypeVar("T")


def _as_is(value: T) -> T:
    """`value`, passed to a task without Prefect walking it.

    Before each task run Prefect visits every argument recursively, twice, looking for futures
    and recording inputs: over 10,000 drafts that cost more CPU than validating them. These
    values never hold futures; `quote` skips the walk and the task receives the value itself.
    """
    return cast(T, quote(value))


@flow(name="ingest", log_prints=False, validate_parameters=True)
def ingest(export_dir: Path, today: date | None = None) -> dict[str, Any]:
    """Reads, validates, checks against the Chorus Pro directory, preflights PDFs, stages."""
    with flow_environment() as (settings, engine), recorded_run(engine, "ingest") as counts:
        loaded = stages.read_export(export_dir, settings, engine)
        drafts: list[stages.InvoiceDraft] = []
        changed: list[stages.InvoiceDraft] = []
        hashes: dict[tuple[str, str], str] = {}
        if loaded.to_check:
            drafts = stages.validate_export(_as_is(loaded), settings, today or date.today())
            changed, hashes = stages.find_changes(_as_is(drafts), _as_is(loaded))
        waiting = {}
        preflight = stages.Preflight()
        if changed:
            # The PDFs are read on every core while Chorus Pro's directory is asked.
            checking = stages.preflight_pdfs.submit(
                _as_is(changed), export_dir, settings.facturx_sirets
            )
            try:
                # The directory of buyers is the same for every account: any one will do.
                with ChorusClients(settings) as clients:
                    api = clients.any_account()
                    result = stages.check_directory(_as_is(changed), api, engine, settings)
                    waiting = result.waiting
                if settings.facturx_sirets:
                    stages.check_facturx(_as_is(changed), settings)
            finally:
                checking.wait()
            preflight = checking.result()
        report = stages.stage_drafts(
            engine,
            _as_is(loaded),
            _as_is(drafts),
            _as_is(changed),
            _as_is(hashes),
            _as_is(waiting),
            _as_is(preflight),
        )
        counts.update(report.counts())
        complements = record_complements(engine, export_dir, loaded.cooperatives)
    _publish(report)
    return {**report.as_dict(), "complements": complements.as_dict()}


def _publish(report: stages.IngestReport) -> None:
    counts = report.counts()
    create_markdown_artifact(
        key="ingest-summary",
        markdown="\n".join(
            [
                f"# Ingest of `{report.export_dir}`",
                "",
                *(f"- **{name}**: {value}" for name, value in sorted(counts.items())),
                *(f"- file error: {r.message_en}" for r in report.file_reasons),
            ]
        ),
        description="Counts of the last ingest",
    )
    rows = [
        {
            "supplier_siret": o.supplier_siret,
            "invoice_number": o.invoice_number,
            "result": o.result.value,
            "state": o.state or "",
            "rule": r.rule,
            "column": r.column or "",
            "value": r.value or "",
            "message": r.message_en,
        }
        for o in report.outcomes
        if o.result is not stages.StageResult.UNCHANGED
        for r in o.reasons
    ]
    if rows:
        create_table_artifact(key="ingest-reasons", table=rows, description="Every reason")
