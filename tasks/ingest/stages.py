"""The ingest stages as Prefect tasks: each runs over the whole export, never one invoice at a time.

The plain functions they call live in `extract`, `changes`, `validate`, `directory`, the
`tasks.preflight` package and `staging`; this module only sequences data between them and reports progress.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chorus_etl.accounts import load_accounts
from chorus_etl.cooperatives import cooperative_of, export_cooperative
from chorus_etl.log import get_logger
from chorus_etl.settings import Settings
from chorus_etl.untrusted import printable
from chorus_pro.api import ChorusProApi
from schemas.export import is_valid_siret
from schemas.issues import Reason
from schemas.warehouse import Entrepreneur, ExportFile, InvoiceState, ValidationIssue
from tasks.alerts import stalls
from tasks.ingest import (
    b2g_rules,
    caerp,
    changes,
    complete,
    directory,
    extract,
    facturx_rules,
    staging,
)
from tasks.ingest.bulk import collector_paused
from tasks.ingest.file_checks import FileLimits
from tasks.ingest.validate import EntrepreneurEntry, InvoiceDraft, validate_rows
from tasks.preflight import (
    OCR_RULES,
    PdfCheck,
    PdfExpectations,
    check_attachments,
    check_invoice_pdfs,
    check_read_text,
    embedded_xml_kept,
)
from tasks.preflight.split import Part

log = get_logger(__name__)

Key = tuple[str, str]


@dataclass
class LoadedExport:
    export_dir: Path
    table: extract.Table
    #: Who owns each row: the structure's cooperative, else the export's.
    owners: staging.Owners
    entrepreneurs: dict[tuple[str, str], EntrepreneurEntry] | None
    entrepreneur_reasons: list[Reason] = field(default_factory=list)
    #: Cooperatives whose directory could not be read, with why: their invoices are not checked
    #: against the directory and carry these reasons (the others' are checked as usual).
    unchecked: dict[str, list[Reason]] = field(default_factory=dict)
    #: Each row's invoice key; each invoice's source hash (`tasks.ingest.changes`), in export order.
    row_keys: list[Key] = field(default_factory=list)
    sources: dict[Key, str] = field(default_factory=dict)
    #: What the warehouse holds of the export's invoices.
    stored: dict[Key, staging.Stored] = field(default_factory=dict)
    #: The invoices whose rows and files are as last ingested: not validated nor checked again.
    unchanged: set[Key] = field(default_factory=set)

    @property
    def cooperatives(self) -> set[str]:
        """The cooperatives the export's invoices belong to (its own when it names none)."""
        return {self.owners.of(siret) for siret, _ in self.sources} or {self.owners.export}

    @property
    def to_check(self) -> bool:
        """Whether anything in the export needs validating (an unreadable file has nothing)."""
        return len(self.unchanged) < len(self.sources)


@dataclass
class IngestReport:
    """What one ingest did, for the CLI, the artifact and the pipeline-run row."""

    export_dir: str
    file_reasons: list[Reason]
    ignored_columns: list[str]
    outcomes: list[staging.StageOutcome]
    #: The "à compléter" CSV written for accounting, if any invoice lacks what it can give.
    to_complete: str | None = None

    def reason_rows(self) -> list[dict[str, str]]:
        """Every reason of every invoice this ingest looked at, one row each (the artifact)."""
        return [
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
            for o in self.outcomes
            if o.result is not staging.StageResult.UNCHANGED
            for r in o.reasons
        ]

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {"invoices": len(self.outcomes)}
        for outcome in self.outcomes:
            counts[outcome.result.value] = counts.get(outcome.result.value, 0) + 1
            if outcome.state:
                counts[f"state_{outcome.state}"] = counts.get(f"state_{outcome.state}", 0) + 1
        counts["file_errors"] = len(self.file_reasons)
        return counts

    def as_dict(self) -> dict[str, object]:
        return {
            "export_dir": self.export_dir,
            "counts": self.counts(),
            "file_reasons": [r.as_dict() for r in self.file_reasons],
            "ignored_columns": self.ignored_columns,
            "to_complete": self.to_complete,
            "invoices": [o.as_dict() for o in self.outcomes],
        }


SIRET_DIGITS = 14


def _directory_entries(
    table: extract.Table,
) -> tuple[dict[tuple[str, str], EntrepreneurEntry], list[Reason]]:
    """The directory's entries; a line the reader refused (a control character, a cell longer
    than the warehouse holds) or whose SIRET has more digits than one is left out, with why."""
    entries: dict[tuple[str, str], EntrepreneurEntry] = {}
    reasons = list(table.reasons)
    for _, row in table.frame.iterrows():
        line = int(row[extract.LINE])
        siret = extract_digits(str(row["supplier_siret"]))
        refused = table.findings.reasons.get(line, [])
        if len(siret) > SIRET_DIGITS:
            refused = [*refused, _siret_too_long(line, siret)]
        if refused:
            reasons.extend(refused)
            continue
        entries[(siret, str(row["entrepreneur_code"]))] = EntrepreneurEntry(
            code=str(row["entrepreneur_code"]),
            name=str(row["name"]),
            email=str(row["email"]),
            supplier_siret=siret,
        )
    return entries, reasons


def _siret_too_long(line: int, siret: str) -> Reason:
    return Reason(
        rule="entrepreneur.siret_invalid",
        column="supplier_siret",
        value=siret[:200],
        message_fr=(
            f"Annuaire des entrepreneurs, ligne {line} : le SIRET fournisseur a {len(siret)} "
            "chiffres au lieu de 14 ; l'entrepreneur est ignoré."
        ),
        message_en=f"entrepreneurs directory line {line}: supplier SIRET has {len(siret)} digits",
    )


def extract_digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


_DIRECTORY_MISSING = Reason(
    rule="entrepreneur.directory_missing",
    column="entrepreneur_code",
    value=None,
    message_fr="L'annuaire des entrepreneurs est introuvable : impossible de vérifier "
    "les codes entrepreneur.",
    message_en="no entrepreneurs directory (export, configured file or warehouse)",
)


@dataclass
class Directory:
    """The entrepreneurs an export's invoices are checked against, and the cooperatives left
    unchecked (no directory to be found, or one that cannot be read) with their reasons."""

    entries: dict[tuple[str, str], EntrepreneurEntry] | None
    reasons: list[Reason] = field(default_factory=list)
    unchecked: dict[str, list[Reason]] = field(default_factory=dict)


def _read_directory(
    path: Path, limits: FileLimits
) -> tuple[dict[tuple[str, str], EntrepreneurEntry] | None, list[Reason]]:
    table = extract.read_entrepreneurs(path, limits)
    if not table.readable:
        return None, table.reasons
    return _directory_entries(table)


def load_entrepreneurs(export_dir: Path, settings: Settings, engine: Engine) -> Directory:
    """The export's own directory, else each cooperative's file, else its warehouse copy.

    An export's own directory file speaks for all its rows. Otherwise each cooperative reads its
    own file (`entrepreneurs_file` in the accounts), keeping only its structures' entrepreneurs
    so that no file can place people in another cooperative's structures; the cooperatives
    without one share the configured file (`settings.entrepreneurs_file`), whose every entry is
    kept but those of structures with a file of their own. A cooperative whose file is absent
    falls back on the warehouse's last copy of its directory.
    """
    own = extract.export_entrepreneurs_file(export_dir)
    if own is not None:
        return Directory(*_read_directory(own, FileLimits.of(settings)))
    accounts = load_accounts(settings)
    own_files = {
        c.id: c.entrepreneurs_file
        for c in accounts.cooperatives
        if c.entrepreneurs_file is not None and c.entrepreneurs_file != settings.entrepreneurs_file
    }
    found: dict[tuple[str, str], EntrepreneurEntry] = {}
    reasons: list[Reason] = []
    absent: list[str] = []
    unchecked: dict[str, list[Reason]] = {}
    sources = [(None, settings.entrepreneurs_file), *own_files.items()]
    for cooperative, path in sources:
        if cooperative is None:
            covers = [c.id for c in accounts.cooperatives if c.id not in own_files]
        else:
            covers = [cooperative]
        if not path.is_file():
            absent += covers
            continue
        entries, problems = _read_directory(path, FileLimits.of(settings))
        reasons += problems
        if entries is None:
            unchecked |= dict.fromkeys(covers, problems)
            continue
        for key, entry in entries.items():
            owner = accounts.cooperative_of(entry.supplier_siret)
            # A cooperative's own file speaks for its structures only, the shared file for
            # every structure but those with a file of their own.
            keep = owner not in own_files if cooperative is None else owner == cooperative
            if keep:
                found[key] = entry
            elif cooperative is not None:
                log.warning(
                    "ingest.directory_foreign_entry",
                    file=str(path),
                    cooperative=cooperative,
                    supplier=entry.supplier_siret,
                )
    if absent:
        with Session(engine) as session:
            rows = session.exec(
                select(Entrepreneur).where(col(Entrepreneur.cooperative).in_(absent))
            ).all()
        for r in rows:
            found[(r.supplier_siret, r.code)] = EntrepreneurEntry(
                r.code, r.name, r.email, r.supplier_siret
            )
        covered = {r.cooperative for r in rows}
        unchecked |= {c: [_DIRECTORY_MISSING] for c in absent if c not in covered}
    if not found and set(unchecked) >= {c.id for c in accounts.cooperatives}:
        return Directory(None, reasons or [_DIRECTORY_MISSING])
    return Directory(found, reasons, unchecked)


def read_invoice_table(export_dir: Path, settings: Settings, directory: Directory) -> extract.Table:
    """The export's invoice table in the contract's columns, whatever its layout (the contract's
    own, or CAERP's, `tasks.ingest.caerp`), with the "à compléter" file accounting dropped in."""
    path = extract.find_invoice_table(export_dir, FileLimits.of(settings))
    if path is not None and path.name.lower() not in extract.INVOICE_FILES:
        table = caerp.CaerpReader(
            export_dir,
            directory.entries or {},
            settings.caerp_vat_rates,
            settings.caerp_enseignes,
            split_root=settings.var_dir / "caerp-split",
            workers=preflight_workers(),
            limits=FileLimits.of(settings),
        ).read(path)
    else:
        table = extract.read_invoices(export_dir, FileLimits.of(settings))
    complete.merge_complement(table, export_dir, FileLimits.of(settings))
    return table


def to_complete_path(export_dir: Path, settings: Settings) -> Path:
    """Where the export's "à compléter" CSV is written (never into the export itself)."""
    return settings.var_dir / "a-completer" / f"{export_dir.name}-a-completer.csv"


@task(name="read-export", cache_policy=NO_CACHE)
def read_export(export_dir: Path, settings: Settings, engine: Engine) -> LoadedExport:
    """Reads the export and recognises the invoices it holds exactly as last ingested."""
    directory = load_entrepreneurs(export_dir, settings, engine)
    table = read_invoice_table(export_dir, settings, directory)
    row_keys: list[Key] = []
    sources: dict[Key, str] = {}
    if table.readable:
        row_keys = changes.row_keys(table.frame)
        with collector_paused():
            sources = changes.source_hashes(table.frame, row_keys, export_dir, table.extra_source)
    loaded = LoadedExport(
        export_dir,
        table,
        owners_of(settings, (siret for siret, _ in sources)),
        directory.entries,
        directory.reasons,
        unchecked=directory.unchecked,
        row_keys=row_keys,
        sources=sources,
    )
    if directory.entries:
        staging.sync_entrepreneurs(engine, directory.entries.values(), owners=loaded.owners)
    if table.readable:
        loaded.stored = staging.existing_fingerprints(engine, loaded.sources)
        loaded.unchanged = {
            key
            for key, source in loaded.sources.items()
            if key in loaded.stored and loaded.stored[key].source_hash == source
        }
    log.info(
        "ingest.read",
        export=str(export_dir),
        rows=len(table.frame),
        file_errors=len(table.reasons),
        ignored_columns=table.ignored_columns,
        entrepreneurs=len(directory.entries or {}),
        invoices=len(loaded.sources),
        unchanged=len(loaded.unchanged),
    )
    return loaded


def owners_of(settings: Settings, sirets: Iterable[str]) -> staging.Owners:
    """The owners of an export's rows, given the structures it names."""
    accounts = load_accounts(settings)
    by_siret = {s.siret: c.id for c in accounts.cooperatives for s in c.structures}
    return staging.Owners(by_siret, export_cooperative(sirets, settings))


@task(name="validate-export", cache_policy=NO_CACHE)
def validate_export(loaded: LoadedExport, settings: Settings, today: date) -> list[InvoiceDraft]:
    """Validates the invoices whose rows or files moved since the last ingest, and only those:
    the export contract, then Chorus Pro's public-sector rules (`b2g_rules`)."""
    if not loaded.table.readable:
        return []
    frame = loaded.table.frame
    if loaded.unchanged:
        frame = frame[[key not in loaded.unchanged for key in loaded.row_keys]]
    with collector_paused():
        drafts = validate_rows(
            frame,
            today=today,
            supplier_sirets=load_accounts(settings).sirets(),
            entrepreneurs=loaded.entrepreneurs,
            owner=loaded.owners.of,
            unchecked=frozenset(loaded.unchecked),
            findings=loaded.table.findings,
        )
    table = loaded.table
    for draft in drafts:
        key = (draft.supplier_siret, draft.invoice_number)
        draft.reasons.extend(table.extra_reasons.get(key, []))
        draft.sources.update(table.sources.get(key, {}))
        if loaded.entrepreneurs is None:
            draft.reasons.extend(loaded.entrepreneur_reasons)
        else:
            draft.reasons.extend(loaded.unchecked.get(loaded.owners.of(draft.supplier_siret), []))
        # Chorus Pro's public-sector rules, which it would refuse with REJ_CONT_B2G.
        draft.reasons.extend(b2g_rules.b2g_reasons(draft, settings))
    invalid = sum(1 for d in drafts if not d.valid)
    log.info("ingest.validated", invoices=len(drafts), invalid=invalid)
    return drafts


@task(name="find-changes", cache_policy=NO_CACHE)
def find_changes(
    drafts: list[InvoiceDraft], loaded: LoadedExport
) -> tuple[list[InvoiceDraft], dict[Key, str]]:
    """Which validated invoices really changed; only those go on to the costly checks.

    An invoice already in the warehouse is hashed with its files (`staging.fingerprint`) and
    compared; a new one is changed by definition, and hashed once preflighted, with the digest
    of its PDF that the preflight computes anyway.
    """
    hashes: dict[Key, str] = {}
    changed: list[InvoiceDraft] = []
    for draft in drafts:
        key = (draft.supplier_siret, draft.invoice_number)
        stored = loaded.stored.get(key)
        if stored is not None:
            part = loaded.table.known_pdfs.get(draft.get("pdf_file") or "")
            digest = part.sha256 if part is not None else None
            hashes[key] = staging.fingerprint(draft, loaded.export_dir, digest)
        if stored is None or stored.content_hash != hashes[key]:
            changed.append(draft)
    log.info("ingest.changes", invoices=len(drafts), changed=len(changed))
    return changed, hashes


@task(name="check-directory", cache_policy=NO_CACHE)
def check_directory(
    drafts: list[InvoiceDraft], api: ChorusProApi, engine: Engine, settings: Settings
) -> directory.DirectoryResult:
    candidates = [d for d in drafts if is_valid_siret(d.get("buyer_siret"))]
    result = directory.check_buyers(
        engine, api, candidates, ttl=timedelta(hours=settings.directory_cache_hours)
    )
    for draft in drafts:
        draft.reasons.extend(result.reasons.get((draft.supplier_siret, draft.invoice_number), []))
    log.info(
        "ingest.directory",
        buyers_fetched=result.buyers_fetched,
        buyers_cached=result.buyers_cached,
        api_calls=result.api_calls,
        waiting=len(result.waiting),
    )
    return result


@task(name="record-directory-waits", cache_policy=NO_CACHE)
def record_directory_waits(
    engine: Engine,
    drafts: list[InvoiceDraft],
    waiting: dict[Key, list[Reason]],
    settings: Settings,
) -> stalls.StallReport:
    """Once per run, after every directory question of the run (a second one for invoices whose
    routing the PDFs filled): each invoice checked either still waits (one run more of its
    bounded wait) or no longer does (its wait, if any, is over)."""
    waits = [
        stalls.Wait(
            subject=f"{d.supplier_siret}:{d.invoice_number}",
            cooperative=cooperative_of(d.supplier_siret, settings),
            label=stalls.invoice_label(
                d.supplier_siret, d.invoice_number, f"client {d.get('buyer_siret')}"
            ),
            error=waiting[key][0].message_en,
        )
        for d in drafts
        if (key := (d.supplier_siret, d.invoice_number)) in waiting
    ]
    return stalls.record_waits(
        engine,
        stalls.DIRECTORY,
        waits,
        settled=[f"{d.supplier_siret}:{d.invoice_number}" for d in drafts],
        bounds=stalls.WaitBounds.from_settings(settings),
        settings=settings,
    )


def _expectations(draft: InvoiceDraft) -> PdfExpectations:
    return PdfExpectations(
        invoice_number=draft.invoice_number,
        buyer_siret=draft.get("buyer_siret") or "",
        engagement_number=draft.get("engagement_number"),
        service_code=draft.get("buyer_service_code"),
        total_ttc_cents=draft.total_ttc_cents,
    )


def preflight_workers() -> int:
    """One PDF worker per core (at most 8): reading the PDFs is the bulk of a first ingest."""
    return max(1, min(os.cpu_count() or 1, 8))


@dataclass
class Preflight:
    """What the preflight found. It runs while the directory is asked, so it keeps its reasons
    apart from the drafts; `add_to` adds them after the directory's, in invoice order."""

    reasons: dict[Key, list[Reason]] = field(default_factory=dict)
    #: What only warns: the guide's OCR rules for structures that deposit Factur-X.
    warnings: dict[Key, list[Reason]] = field(default_factory=dict)
    #: The PDFs' SHA-256 by invoice, for the content hash.
    digests: dict[Key, str] = field(default_factory=dict)
    #: Each invoice's check, for what the PDF says that the export lacks (`complete`).
    checks: dict[Key, PdfCheck] = field(default_factory=dict)

    def add_to(self, drafts: list[InvoiceDraft]) -> None:
        for draft in drafts:
            key = (draft.supplier_siret, draft.invoice_number)
            draft.reasons.extend(self.reasons.get(key, []))
            draft.warnings.extend(self.warnings.get(key, []))


def _read_already(draft: InvoiceDraft, found: Part) -> PdfCheck:
    """The check of an invoice's part of a merged PDF, from what the split read of it."""
    return check_read_text(
        found.file_name,
        found.texts,
        found.image_only,
        _expectations(draft),
        sha256=found.sha256,
        size_bytes=found.size_bytes,
        page_count=len(found.pages),
    )


@task(name="preflight-pdfs", cache_policy=NO_CACHE)
def preflight_pdfs(
    drafts: list[InvoiceDraft],
    export_dir: Path,
    facturx_sirets: frozenset[str] = frozenset(),
    known_pdfs: dict[str, Part] | None = None,
) -> Preflight:
    """Checks each invoice's PDF on every core, then its attachments; reads the drafts only.

    All the PDFs go to the workers in one batch: batches of a thousand left a worker idle at the
    end of each while the other finished, and both idle while the attachments were checked here.
    For the structures in `facturx_sirets` Chorus Pro reads the XML, not the PDF: the guide's OCR
    rules only warn, while the invoice number and total must still be in the PDF; for the others,
    a PDF that embeds an XML gets a warning (the deposit sends a copy without it).
    `known_pdfs` are the PDFs read already (parts of a merged PDF, by `pdf_file`): checked from
    what was read, not read again.
    """
    known = known_pdfs or {}
    with_pdf = [d for d in drafts if d.get("pdf_file")]
    to_read = [d for d in with_pdf if str(d.get("pdf_file")) not in known]

    def progress(done: int) -> None:
        log.info("ingest.preflight_progress", checked=done, total=len(with_pdf))

    read = iter(
        check_invoice_pdfs(
            [(export_dir, str(d.get("pdf_file")), _expectations(d)) for d in to_read],
            workers=preflight_workers(),
            on_progress=progress,
        )
    )
    checks = [
        _read_already(d, part)
        if (part := known.get(str(d.get("pdf_file")))) is not None
        else next(read)
        for d in with_pdf
    ]
    found = Preflight()
    for draft, check in zip(with_pdf, checks, strict=True):
        key = (draft.supplier_siret, draft.invoice_number)
        found.checks[key] = check
        reasons = list(check.reasons)
        if check.sha256 is not None:
            found.digests[key] = check.sha256
        if draft.attachments:
            attachments = check_attachments(export_dir, draft.attachments, check.size_bytes or 0)
            reasons.extend(attachments.reasons)
        warnings: list[Reason] = []
        if draft.supplier_siret in facturx_sirets:
            warnings = [r for r in reasons if r.rule in OCR_RULES]
            reasons = [r for r in reasons if r.rule not in OCR_RULES]
        elif check.embedded_xml is not None:
            warnings.append(embedded_xml_kept(check.embedded_xml.name))
        if warnings:
            found.warnings[key] = warnings
        if reasons:
            found.reasons[key] = reasons
    log.info("ingest.preflight_progress", checked=len(with_pdf), total=len(with_pdf))
    return found


@task(name="complete-from-pdfs", cache_policy=NO_CACHE)
def complete_from_pdfs(
    drafts: list[InvoiceDraft], preflight: Preflight, asked: directory.DirectoryResult
) -> list[InvoiceDraft]:
    """Fills what the export lacks from each PDF (`tasks.ingest.complete`); returns the invoices
    whose routing changed, without the directory's reasons on the old routing: the flow asks
    the directory again for them."""
    rerouted = complete.complete_from_pdfs(drafts, preflight.checks)
    for draft in rerouted:
        old = {id(r) for r in asked.reasons.get((draft.supplier_siret, draft.invoice_number), [])}
        draft.reasons = [r for r in draft.reasons if id(r) not in old]
    log.info("ingest.completed_from_pdfs", rerouted=len(rerouted))
    return rerouted


@task(name="check-facturx", cache_policy=NO_CACHE)
def check_facturx(
    drafts: list[InvoiceDraft],
    settings: Settings,
    engine: Engine,
    loaded: LoadedExport,
    export: list[InvoiceDraft],
) -> int:
    """Builds and checks the Factur-X XML of each invoice of a Factur-X structure (XSD, the
    EN 16931 rules Chorus Pro applies, the French rules the export can break); its reasons are
    added like the directory's. A credit note's preceding invoice is looked up in `export` (all
    the export's drafts), then in the warehouse."""
    found = facturx_rules.facturx_reasons(
        drafts,
        settings,
        original_dates=facturx_rules.original_dates(drafts, export, engine),
        owner=loaded.owners.of,
    )
    for draft in drafts:
        draft.reasons.extend(found.get((draft.supplier_siret, draft.invoice_number), []))
    log.info("ingest.facturx_checked", refused=len(found))
    return len(found)


@task(name="stage-invoices", cache_policy=NO_CACHE)
def stage_drafts(
    engine: Engine,
    loaded: LoadedExport,
    drafts: list[InvoiceDraft],
    changed: list[InvoiceDraft],
    hashes: dict[Key, str],
    waiting: dict[Key, list[Reason]],
    preflight: Preflight,
    to_complete: Path | None = None,
    *,
    reexport: staging.Reexports,
) -> IngestReport:
    """Stages the changed invoices; every other invoice of the export reports as unchanged.
    Writes `to_complete` ("à compléter" rows of the changed invoices that lack what accounting
    can give) when anything changed. `reexport` judges deposited invoices exported again."""
    preflight.add_to(changed)
    written = None
    if to_complete is not None and changed:
        written = complete.write_to_complete(changed, to_complete)
    problems = [r.message_en for r in loaded.table.reasons]
    if waiting:
        problems.append(f"{len(waiting)} invoices wait for the Chorus Pro directory")
    # The file's problems quote what a parser said about hostile bytes: one line, within the
    # column, for any engine.
    error = printable("; ".join(problems))[:2000] or None
    export_id = staging.record_export(
        engine,
        loaded.export_dir,
        loaded.table.sha256 or "unreadable",
        error,
        cooperative=loaded.owners.export,
    )
    changed_keys = {(d.supplier_siret, d.invoice_number) for d in changed}
    with collector_paused():
        for draft in changed:
            key = (draft.supplier_siret, draft.invoice_number)
            if key not in hashes:
                hashes[key] = staging.fingerprint(
                    draft, loaded.export_dir, preflight.digests.get(key)
                )
        outcomes = staging.stage_invoices(
            engine,
            export_id,
            changed,
            hashes,
            waiting,
            loaded.sources,
            owners=loaded.owners,
            reexport=reexport,
        )
    outcomes += [
        staging.StageOutcome(*key, staging.StageResult.UNCHANGED, None)
        for key in loaded.sources
        if key not in changed_keys
    ]
    staging.record_sources(
        engine,
        {
            key: loaded.sources[key]
            for key in ((d.supplier_siret, d.invoice_number) for d in drafts)
            if key not in changed_keys
        },
    )
    _fill_unchanged_states(engine, outcomes, loaded.stored)
    _record_counts(engine, export_id, len(loaded.table.frame), outcomes)
    report = IngestReport(
        export_dir=str(loaded.export_dir),
        file_reasons=[*loaded.table.reasons, *loaded.entrepreneur_reasons],
        ignored_columns=loaded.table.ignored_columns,
        outcomes=outcomes,
        to_complete=None if written is None else str(written),
    )
    log.info("ingest.staged", **report.counts())
    return report


def _fill_unchanged_states(
    engine: Engine, outcomes: list[staging.StageOutcome], stored: dict[Key, staging.Stored]
) -> None:
    """Unchanged invoices report what the warehouse holds: their state (as read at the start of
    the run) and their stored reasons."""
    by_id: dict[int, staging.StageOutcome] = {}
    for outcome in outcomes:
        if outcome.state is None and outcome.result is staging.StageResult.UNCHANGED:
            known = stored[(outcome.supplier_siret, outcome.invoice_number)]
            outcome.state, outcome.reasons, outcome.warnings = known.state, [], []
            by_id[known.invoice_id] = outcome
    issues = ValidationIssue.__table__  # type: ignore[attr-defined]
    ids = list(by_id)
    with engine.connect() as connection:
        for start in range(0, len(ids), 500):
            rows = connection.execute(
                sa.select(
                    issues.c.invoice_id,
                    issues.c.rule,
                    issues.c.column,
                    issues.c.value,
                    issues.c.message_fr,
                    issues.c.message_en,
                    issues.c.severity,
                )
                .where(issues.c.invoice_id.in_(ids[start : start + 500]))
                .order_by(issues.c.id)
            )
            for invoice_id, rule, column, value, message_fr, message_en, severity in rows:
                reason = Reason(
                    rule=rule,
                    column=column,
                    value=value,
                    message_fr=message_fr,
                    message_en=message_en,
                )
                outcome = by_id[invoice_id]
                (outcome.warnings if severity == "warning" else outcome.reasons).append(reason)


def _record_counts(
    engine: Engine, export_id: int, rows: int, outcomes: list[staging.StageOutcome]
) -> None:
    with Session(engine) as session:
        export = session.get(ExportFile, export_id)
        if export is None:
            return
        values = {
            "row_count": rows,
            "invoice_count": len(outcomes),
            "ready_count": sum(1 for o in outcomes if o.state == InvoiceState.READY),
            "invalid_count": sum(1 for o in outcomes if o.state == InvoiceState.INVALID),
        }
        if any(getattr(export, k) != v for k, v in values.items()):
            for name, value in values.items():
                setattr(export, name, value)
            session.add(export)
            session.commit()
