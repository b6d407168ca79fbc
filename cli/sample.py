"""`chorus-etl sample-export DIR`: write a realistic export to try the pipeline on."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from cli.output import emit


def sample_export(
    out_dir: Path = typer.Argument(..., file_okay=False, help="Folder to create."),
    invoices: int = typer.Option(40, "--invoices", min=1, help="How many invoices."),
    seed: int = typer.Option(1, "--seed", help="Random seed: same seed, same export."),
    with_errors: bool = typer.Option(
        False, "--with-errors", help="Mix in a known share of each kind of bad input."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
    layout: str = typer.Option(
        "contract",
        "--format",
        help="contract (invoices.csv) or caerp (CAERP's invoice list, customers, PDFs).",
    ),
) -> None:
    """Invoices of both cooperatives to the simulator's buyers, with real text PDFs."""
    from tasks.sample import LAYOUTS, MANIFEST

    if layout not in LAYOUTS:
        raise typer.BadParameter(f"--format must be one of {', '.join(LAYOUTS)}")
    manifest = LAYOUTS[layout](out_dir, invoices=invoices, seed_value=seed, with_errors=with_errors)
    items = manifest["invoices"]
    assert isinstance(items, list)
    kinds = Counter(str(item["expected"]) for item in items)
    emit(
        manifest,
        as_json=as_json,
        human=f"Wrote {len(items)} invoices to {out_dir} ("
        + ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items()))
        + f"); expected outcomes in {out_dir / MANIFEST}",
    )
