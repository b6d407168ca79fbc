"""Ingest: read an accounting export, validate it against the export contract and the Chorus Pro
directory, preflight its PDFs, and stage each invoice `ready` or `invalid` with its reasons."""

from tasks.ingest.inbox import pending_exports
from tasks.ingest.stages import (
    IngestReport,
    Preflight,
    check_directory,
    check_facturx,
    complete_from_pdfs,
    find_changes,
    preflight_pdfs,
    read_export,
    record_directory_waits,
    stage_drafts,
    to_complete_path,
    validate_export,
)
from tasks.ingest.staging import StageResult
from tasks.ingest.validate import InvoiceDraft

__all__ = [
    "IngestReport",
    "InvoiceDraft",
    "Preflight",
    "StageResult",
    "check_directory",
    "check_facturx",
    "complete_from_pdfs",
    "find_changes",
    "pending_exports",
    "preflight_pdfs",
    "read_export",
    "record_directory_waits",
    "stage_drafts",
    "to_complete_path",
    "validate_export",
]
