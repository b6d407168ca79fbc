"""`ingest` flow: one export folder into the warehouse, every invoice `ready` or `invalid` with reasons."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, TypeVar, cast

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.utilities.annotations import quote

from chorus_etl.accounts import load_accounts
from chorus_etl.chorus_client import ChorusClients
from chorus_etl.log import get_logger
from chorus_etl.runs import recorded_run
from flows._environment import flow_environment
from tasks import ingest as stages
from tasks.returns import REEXPORTS, record_complements

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
                _as_is(changed),
                export_dir,
                load_accounts(settings).facturx_sirets(),
                _as_is(loaded.table.known_pdfs),
            )
            try:
                # The directory of buyers is the same for every account: any one will do.
                with ChorusClients(settings) as clients:
                    api = clients.any_account()
                    result = stages.check_directory(_as_is(changed), api, engine, settings)
                    waiting = dict(result.waiting)
                    preflight = checking.result()
                    # What the export lacks, read from the PDFs; new routing is asked again.
                    rerouted = stages.complete_from_pdfs(
                        _as_is(changed), _as_is(preflight), _as_is(result)
                    )
                    if rerouted:
                        again = stages.check_directory(_as_is(rerouted), api, engine, settings)
                        keys = {(d.supplier_siret, d.invoice_number) for d in rerouted}
                        waiting = {k: v for k, v in waiting.items() if k not in keys}
                        waiting |= again.waiting
                if load_accounts(settings).facturx_sirets():
                    stages.check_facturx(
                        _as_is(changed), settings, engine, _as_is(loaded), _as_is(drafts)
                    )
            finally:
                checking.wait()
            stages.record_directory_waits(engine, _as_is(changed), _as_is(waiting), settings)
        report = stages.stage_drafts(
            engine,
            _as_is(loaded),
            _as_is(drafts),
            _as_is(changed),
            _as_is(hashes),
            _as_is(waiting),
            _as_is(preflight),
            stages.to_complete_path(export_dir, settings),
            reexport=REEXPORTS,
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
    rows = report.reason_rows()
    if rows:
        create_table_artifact(key="ingest-reasons", table=rows, description="Every reason")
