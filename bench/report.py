"""Report benchmark: `chorus-etl report` on a 100,000-invoice warehouse, ≤ 5 s, pages < 5 MB.

Usage: `python -m bench.report [--invoices 100000] [--entrepreneurs 150] [--buyers 300]
[--seed 1] [--keep DIR] [--database-url URL]`.

The warehouse is built first (timed, reported, not counted) with bulk inserts straight into the
tables: no export, no PDFs, no Chorus Pro; a seeded generator gives invoices the simulator's
outcome shares (70 % paid, 8 % rejected, 8 % suspended, 7 % to recycle, 7 % never paid) over two
years of deposits, a few invalid, waiting or refused ones, and a skewed spread over entrepreneurs
so that the largest entrepreneur page is a real test of the size cap. Then the command itself runs
in a fresh interpreter, as an operator would run it (`python -m cli report`, the same command as
the installed `chorus-etl report`), and its wall time (imports included) and the size of every
page it wrote are the figures; `--profile` writes a cProfile of the command to the work
directory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.common import figure, machine_figures, note, verdict, work_directory

TARGET_SECONDS = 5.0
TARGET_PAGE_BYTES = 5 * 1024 * 1024
CHUNK = 5_000
SUPPLIERS = ("51858054300107", "47840796800054")
#: The single-account settings' cooperative, which owns both structures.
COOPERATIVE = "cooproduction"
TOWNS = [
    "STRASBOURG",
    "SCHILTIGHEIM",
    "COLMAR",
    "MULHOUSE",
    "HAGUENAU",
    "SELESTAT",
    "ILLKIRCH",
    "BISCHHEIM",
    "OBERNAI",
    "SAVERNE",
    "MOLSHEIM",
    "ERSTEIN",
    "WISSEMBOURG",
    "GUEBWILLER",
    "THANN",
    "ALTKIRCH",
    "SAINT-LOUIS",
    "LINGOLSHEIM",
]
FIRST = [
    "Alice",
    "Bruno",
    "Clara",
    "David",
    "Emma",
    "Farid",
    "Gaëlle",
    "Hugo",
    "Inès",
    "Jules",
    "Karima",
    "Léo",
    "Maëlle",
    "Nora",
]
LAST = [
    "Martin",
    "Keller",
    "Weiss",
    "Muller",
    "Schmitt",
    "Meyer",
    "Klein",
    "Roth",
    "Fischer",
    "Wagner",
    "Bauer",
    "Koch",
]
REASONS = {
    "REJETEE": ("Montant facturé non conforme au bon de commande.", "Taux de TVA erroné."),
    "SUSPENDUE": ("Bon de livraison manquant.", "Attestation de service fait manquante."),
    "A_RECYCLER": ("Service exécutant erroné.", "Numéro d'engagement inconnu."),
}


def _buyers(rng: random.Random, count: int) -> list[tuple[str, str, bool]]:
    """(SIRET, name, reports payment?) with every legal kind represented."""
    kinds = [
        ("CENTRE HOSPITALIER DE {}", "2"),
        ("CHU DE {}", "2"),
        ("REGIE DES EAUX DE {}", "2"),
        ("DIRECTION DEPARTEMENTALE DES TERRITOIRES {}", "1"),
        ("MAIRIE DE {}", "2"),
        ("COMMUNE DE {}", "2"),
        ("LYCEE JEAN-STURM {}", "1"),
    ]
    found = []
    for i in range(count):
        template, prefix = kinds[i % len(kinds)]
        name = template.format(f"{rng.choice(TOWNS)} {i}")
        found.append((f"{prefix}{i:08d}00017"[:14], name, rng.random() > 0.1))
    return found


#: (Chorus status, day, comment)
Step = tuple[str, date, str | None]


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, clock(rng.randint(7, 17), rng.randint(0, 59)), tzinfo=UTC)


def _events(rng: random.Random, deposit: date, today: date, reports: bool) -> list[Step]:
    """A lifecycle like the simulator's, cut at today."""
    events: list[Step] = [
        ("DEPOSEE", deposit, None),
        ("MISE_A_DISPOSITION", deposit, None),
    ]
    roll = rng.random()
    if roll < 0.70:
        steps = _payment(rng, deposit, reports)
    elif roll < 0.78:
        steps = [("REJETEE", deposit + timedelta(rng.randint(2, 20)), None)]
    elif roll < 0.93:
        status = "SUSPENDUE" if roll < 0.86 else "A_RECYCLER"
        returned = deposit + timedelta(rng.randint(1, 15))
        steps = [(status, returned, None)]
        if rng.random() < 0.7:
            resumed = returned + timedelta(rng.randint(2, 20))
            steps.append(
                ("COMPLETEE" if status == "SUSPENDUE" else "MISE_A_DISPOSITION", resumed, None)
            )
            steps += _payment(rng, resumed, reports)
    else:
        steps = [("SERVICE_FAIT", deposit + timedelta(rng.randint(5, 30)), None)]
    for status, day, _ in steps:
        if day > today:
            break
        events.append((status, day, rng.choice(REASONS[status]) if status in REASONS else None))
    return events


def _payment(rng: random.Random, start: date, reports: bool) -> list[Step]:
    days = rng.randint(10, 90)
    steps: list[Step] = [("MANDATEE", start + timedelta(round(days * 0.7)), None)]
    if reports:
        steps.append(("MISE_EN_PAIEMENT", start + timedelta(days), None))
    return steps


def _state(rng: random.Random) -> str:
    """2 % invalid, 1 % waiting, 1 % refused at deposit, 1 % found only on Chorus Pro."""
    roll = rng.random()
    for state, below in (("invalid", 0.02), ("ready", 0.03), ("deposit_failed", 0.04)):
        if roll < below:
            return state
    return "external" if roll < 0.05 else "deposited"


def _invoice(
    rng: random.Random,
    invoice_id: int,
    person: tuple[str, str, str],
    buyer: tuple[str, str, bool],
    today: date,
    now: datetime,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One invoice row and its status events (their ids are set by the caller)."""
    supplier, code, _ = person
    siret, name, reports = buyer
    state = _state(rng)
    deposited = state in ("deposited", "external")
    deposit = today - timedelta(rng.randint(0, 730)) if deposited else None
    events = [
        {
            "invoice_id": invoice_id,
            "status": status,
            "status_at": _at(day, rng),
            "comment": comment,
            "source": "search",
            "recorded_at": now,
        }
        for status, day, comment in (_events(rng, deposit, today, reports) if deposit else [])
    ]
    last = events[-1] if events else {}
    ttc = rng.randint(100, 20_000) * 100 + rng.randint(0, 99)
    row = {
        "id": invoice_id,
        "cooperative": COOPERATIVE,
        "supplier_siret": supplier,
        "invoice_number": f"FC{invoice_id:07d}",
        "invoice_type": "FACTURE",
        "invoice_date": (deposit or today) - timedelta(rng.randint(0, 5)),
        "entrepreneur_code": None if state == "external" else code,
        "buyer_siret": siret,
        "buyer_name": name,
        "currency": "EUR",
        "payment_mode": "VIREMENT",
        "amount_ht_cents": round(ttc / 1.2),
        "amount_vat_cents": ttc - round(ttc / 1.2),
        "total_ttc_cents": ttc,
        "attachments_json": "[]",
        "state": state,
        "chorus_invoice_id": invoice_id if deposit else None,
        "deposit_date": deposit,
        "deposit_error_label": "Destinataire inconnu." if state == "deposit_failed" else None,
        "current_status": last.get("status"),
        "current_status_at": last.get("status_at"),
        "current_status_comment": last.get("comment"),
        "created_at": now,
        "updated_at": now,
    }
    return row, events


def _directory(
    people: list[tuple[str, str, str]], buyers: list[tuple[str, str, bool]], now: datetime
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    yield (
        "entrepreneur",
        [
            {
                "cooperative": COOPERATIVE,
                "supplier_siret": siret,
                "code": code,
                "name": name,
                "email": f"{code.lower()}@example.org",
                "updated_at": now,
            }
            for siret, code, name in people
        ],
    )
    yield (
        "buyer_structure",
        [
            {
                "siret": siret,
                "found": True,
                "designation": name,
                "active": True,
                "service_required": False,
                "engagement_required": False,
                "service_or_engagement": False,
                "payment_not_reported": not reports,
                "fetched_at": now,
                "expires_at": now + timedelta(days=1),
            }
            for siret, name, reports in buyers
        ],
    )


def generate(
    rng: random.Random, *, invoices: int, entrepreneurs: int, buyers: int, today: date
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(table, rows) batches, parents before children, ids set here so no read-back is needed.
    Entrepreneurs get invoices in a skewed proportion (a few have many, most have some)."""
    now = datetime.now(UTC)
    people = [
        (SUPPLIERS[i % 2], f"E{i:04d}", f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}")
        for i in range(entrepreneurs)
    ]
    directory = _buyers(rng, buyers)
    yield from _directory(people, directory, now)
    weights = [1 / (i + 1) ** 0.8 for i in range(entrepreneurs)]
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    event_id = 0
    for invoice_id in range(1, invoices + 1):
        person = rng.choices(people, weights)[0]
        row, history = _invoice(rng, invoice_id, person, rng.choice(directory), today, now)
        for event in history:
            event_id += 1
            event["id"] = event_id
        rows.append(row)
        events += history
        if len(rows) >= CHUNK:
            yield "invoice", rows
            yield "status_event", events
            rows, events = [], []
    yield "invoice", rows
    yield "status_event", events
    yield "pipeline_run", _runs(rng, today)


def _runs(rng: random.Random, today: date) -> list[dict[str, Any]]:
    """Two flows a day for two years, a few failed."""
    runs = []
    for back in range(730):
        for flow, hour in (("ingest", 7), ("reconcile", 2)):
            started = datetime.combine(today - timedelta(back), clock(hour), tzinfo=UTC)
            runs.append(
                {
                    "flow": flow,
                    "started_at": started,
                    "finished_at": started + timedelta(seconds=rng.randint(20, 600)),
                    "outcome": "completed" if rng.random() > 0.03 else "failed",
                    "counts_json": json.dumps({"invoices": rng.randint(0, 400)}),
                }
            )
    return runs


def build_warehouse(url: str, args: argparse.Namespace, today: date) -> int:
    from chorus_etl import db
    from schemas.warehouse import METADATA

    db.upgrade(url)
    engine = db.make_engine(url)
    rng = random.Random(args.seed)
    count = 0
    try:
        with engine.begin() as connection:
            for table, rows in generate(
                rng,
                invoices=args.invoices,
                entrepreneurs=args.entrepreneurs,
                buyers=args.buyers,
                today=today,
            ):
                if rows:
                    connection.execute(sa.insert(METADATA.tables[table]), rows)
                    count += len(rows) if table == "invoice" else 0
    finally:
        engine.dispose()
    return count


def report_command(out_dir: Path) -> tuple[list[str], str]:
    """`chorus-etl report OUT_DIR --json` as an operator runs it, through `python -m cli` (the
    same command as the installed script, without depending on where the script was installed),
    so the wall time includes the interpreter start and the CLI's imports."""
    return [sys.executable, "-m", "cli", "report", str(out_dir), "--json"], "chorus-etl report"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.report", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--invoices", type=int, default=100_000, help="warehouse size (100000)")
    parser.add_argument("--entrepreneurs", type=int, default=150, help="entrepreneurs (150)")
    parser.add_argument("--buyers", type=int, default=300, help="public buyers (300)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (1)")
    parser.add_argument("--keep", type=Path, help="work directory to keep (default: temporary)")
    parser.add_argument("--database-url", help="an empty warehouse to fill (default: SQLite file)")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run the command under cProfile (slower) into DIR/report.prof and report.txt",
    )
    args = parser.parse_args(argv)
    if args.profile and args.keep is None:
        parser.error("--profile needs --keep DIR (the stats are written there)")
    return args


def prepare_warehouse(workdir: Path, args: argparse.Namespace, today: date) -> str:
    """The warehouse URL: a kept directory's SQLite file is reused when it was built with the
    same options on the same day (building takes longer than the report), else built afresh."""
    if args.database_url:
        started = time.perf_counter()
        invoices = build_warehouse(args.database_url, args, today)
        note(f"warehouse of {invoices} invoices built in {time.perf_counter() - started:.1f} s")
        return str(args.database_url)
    database, meta_path = workdir / "warehouse.db", workdir / "bench-report.json"
    url = f"sqlite:///{database}"
    meta = {k: vars(args)[k] for k in ("invoices", "entrepreneurs", "buyers", "seed")}
    meta["today"] = today.isoformat()
    if meta_path.exists() and json.loads(meta_path.read_text()) == meta and database.exists():
        from chorus_etl import db

        db.upgrade(url)
        note(f"reusing the warehouse in {workdir}")
        return url
    meta_path.unlink(missing_ok=True)
    for suffix in ("", "-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    started = time.perf_counter()
    invoices = build_warehouse(url, args, today)
    note(f"warehouse of {invoices} invoices built in {time.perf_counter() - started:.1f} s")
    meta_path.write_text(json.dumps(meta))
    return url


def print_figures(summary: dict[str, Any], what: str, wall: float, out_dir: Path) -> None:
    sizes = sorted(((Path(p).stat().st_size, Path(p)) for p in summary["pages"]), reverse=True)
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    note(f"command: {what}")
    figure("invoices", summary["invoices"])
    figure("report wall time (fresh interpreter, imports included)", wall, "s")
    figure("report time inside the command", float(summary["seconds"]), "s")
    figure("report CPU time (user + system)", child.ru_utime + child.ru_stime, "s")
    figure("report peak memory", child.ru_maxrss / 1024, "MB")
    figure("pages written", len(sizes))
    figure("cooperative page size", (out_dir / "index.html").stat().st_size / 1024 / 1024, "MB")
    figure("largest page size", sizes[0][0] / 1024 / 1024, f"MB ({sizes[0][1].name})")
    figure("entrepreneur pages, median size", sizes[len(sizes) // 2][0] / 1024, "kB")
    figure("all pages, total size", sum(s for s, _ in sizes) / 1024 / 1024, "MB")
    note("on a shared machine, compare CPU time: wall time grows with other people's load")
    machine_figures("after")
    verdict(f"wall time <= {TARGET_SECONDS:g} s", wall <= TARGET_SECONDS, f"{wall:.2f} s")
    verdict(
        "every page < 5 MB",
        sizes[0][0] < TARGET_PAGE_BYTES,
        f"largest {sizes[0][0] / 1024 / 1024:.2f} MB",
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    today = datetime.now(UTC).date()
    with work_directory(args.keep) as workdir:
        url = prepare_warehouse(workdir, args, today)
        out_dir = workdir / "dashboard"
        command, what = report_command(out_dir)
        if args.profile:
            profile = workdir / "report.prof"
            command[1:1] = ["-m", "cProfile", "-o", str(profile)]
            what += f" under cProfile ({profile}; times inflated)"
        machine_figures("before")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHORUS_ETL_")}
        env |= {"CHORUS_ETL_DATABASE_URL": url, "CHORUS_ETL_LOG_LEVEL": "WARNING"}
        started = time.perf_counter()
        done = subprocess.run(
            command, env=env, cwd=workdir, capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stderr[-4000:], file=sys.stderr)
            return 1
        print_figures(json.loads(done.stdout), what, wall, out_dir)
        if args.profile:
            _profile_text(workdir / "report.prof")
    return 0


def _profile_text(path: Path) -> None:
    """The profile's top costs, cumulative and own, next to it as text."""
    import io
    import pstats

    text = io.StringIO()
    stats = pstats.Stats(str(path), stream=text)
    stats.sort_stats("cumulative").print_stats(60)
    stats.sort_stats("tottime").print_stats(40)
    path.with_suffix(".txt").write_text(text.getvalue(), encoding="utf-8")
    note(f"cProfile: {path} and {path.with_suffix('.txt')}")


if __name__ == "__main__":
    sys.exit(main())
