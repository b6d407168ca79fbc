"""Nightly reconciliation at scale: 100,000 deposited invoices, 5,000 changed since last night.

The simulator's store is filled in-process (no deposit calls), the warehouse by bulk inserts, as if
last night's run had seen everything; then 5,000 invoices change status and the `reconcile` flow runs.
It prints wall time, API calls and rows written, its verdict against the targets (≤ 1.5 s for the
flow, ≤ 60 calls) and, for comparison, what one history call per open invoice (the Odoo
connector's way) costs, measured on a sample and extrapolated.

    python -m bench.reconcile [--invoices 100000] [--changed 5000] [--sample 1000] [--profile DIR]

With `--structures N`, the many-structures case instead: N supplier structures of one PISTE
application, each with its own technical account (the simulator refuses it on any other), each
with `--per-structure` invoices of which `--changed-per-structure` changed; one reconciliation
at N/5 structures, then at N, with the same in-process worker. It prints the search pages per
structure against one per 100 changed invoices, and how wall time grows with the structures.

    python -m bench.reconcile --structures 50 [--per-structure 400] [--changed-per-structure 150]
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import math
import multiprocessing
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

# A private Prefect home (an empty ephemeral API, nothing of a developer's), no API URL: nothing
# leaves 127.0.0.1, as in the other benchmarks (bench.common.seal_environment).
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="bench-prefect-")
os.environ.pop("PREFECT_API_URL", None)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
os.environ.setdefault("CHORUS_ETL_LOG_LEVEL", "WARNING")

import sqlalchemy as sa
import uvicorn
from sqlmodel import col
from stdnum import luhn

from bench.common import AllThreadsProfile, figure, machine_figures, note, verdict
from chorus_etl import db
from chorus_etl.config import reset_settings_cache
from chorus_pro.simulator import seed
from chorus_pro.simulator.app import SimulatorApp
from chorus_pro.simulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PASSWORD,
    SimulatorConfig,
)
from chorus_pro.simulator.server import SimulatorControl, wait_until_ready
from chorus_pro.simulator.store import InvoiceData, Store
from schemas.warehouse import Invoice, StatusEvent, SyncWatermark

#: Its warehouses (90 MB at 100,000 invoices) and Prefect home, removed when the process ends.
_TEMPORARY = [Path(os.environ["PREFECT_HOME"])]


@atexit.register
def _remove_temporary() -> None:
    for path in _TEMPORARY:
        shutil.rmtree(path, ignore_errors=True)


TARGET_SECONDS = 1.5
TARGET_CALLS = 60


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    return sock


def _server(app: SimulatorApp) -> uvicorn.Server:
    config = uvicorn.Config(
        app, http="h11", loop="asyncio", lifespan="off", log_config=None, access_log=False
    )
    return uvicorn.Server(config)


def _serve_forever(store: Store, sock: socket.socket) -> None:
    """The forked child's whole life: serve `store` on the parent's socket until terminated.

    Each invoice is touched once before serving: the child shares the parent's memory until it
    writes to it, and reading a Python object writes its reference count, so the first search
    over 100,000 invoices otherwise also copied their pages (0.1 s more than the next ones);
    Chorus Pro is not a service that has just been forked."""
    for invoice in store.invoices.values():
        _ = (invoice.changed_at, invoice.statut, invoice.data.supplier.siret)
    _server(SimulatorApp(store)).run(sockets=[sock])


@contextmanager
def serve(store: Store, where: str = "process") -> Iterator[str]:
    """The simulator over `store`, in a forked process by default: Chorus Pro is a remote
    service, and a simulator thread would take this interpreter's GIL (and its CPU would count
    as the flow's) while it builds search pages of 1,000 invoices. The child gets a copy of the
    filled store; nothing here reads the store's changes back. `where="thread"`: in this process.
    """
    sock = _bound_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    if where == "process":
        process = multiprocessing.get_context("fork").Process(
            target=_serve_forever, args=(store, sock), daemon=True
        )
        process.start()
        try:
            wait_until_ready(url, 30, alive=process.is_alive)
            yield url
        finally:
            process.terminate()
            process.join(timeout=10)
            sock.close()
        return
    server = _server(SimulatorApp(store))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_until_ready(url, 30)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def fill_store(
    store: Store, count: int, suppliers: tuple[seed.Supplier, ...] = seed.SUPPLIERS
) -> None:
    """`count` invoices deposited ten days ago (none overdue yet), over the structures."""
    buyers = [b for b in seed.BUYERS if b.active and not b.flags.service_required]
    start = store.clock.now() - timedelta(days=10)
    for index in range(count):
        supplier = suppliers[index % len(suppliers)]
        service = next(s for s in supplier.services if s.active)
        store.add_invoice(
            InvoiceData(
                numero=f"B{index:07d}",
                supplier=supplier,
                supplier_service=service,
                bank_account=supplier.bank_accounts[0],
                buyer=buyers[index % len(buyers)],
                service=None,
                engagement="EJ1" if buyers[index % len(buyers)].flags.engagement_required else None,
                mode_depot="DEPOT_PDF_API",
                montant_ht=100.0,
                montant_tva=20.0,
                montant_ttc=120.0,
                montant_a_payer=120.0,
            ),
            "api",
            at=start + timedelta(seconds=index),
            outcome="never_paid",
        )


def fill_warehouse(url: str, store: Store, cooperative: str = "cooproduction") -> datetime:
    """The warehouse as last night's reconciliation left it; returns the watermark."""
    engine = db.make_engine(url)
    latest = max(i.changed_at for i in store.invoices.values())
    now = datetime.now(UTC)
    invoice_rows = []
    for invoice in store.invoices.values():
        invoice_rows.append(
            {
                "cooperative": cooperative,
                "supplier_siret": invoice.data.supplier.siret,
                "invoice_number": invoice.data.numero,
                "invoice_type": "FACTURE",
                "buyer_siret": invoice.data.buyer.siret,
                "buyer_name": invoice.data.buyer.name,
                "currency": "EUR",
                "payment_mode": "VIREMENT",
                "amount_ht_cents": 10000,
                "amount_vat_cents": 2000,
                "total_ttc_cents": 12000,
                "attachments_json": "[]",
                "state": "deposited",
                "chorus_invoice_id": invoice.id,
                "deposit_date": invoice.deposited_at.date(),
                "current_status": invoice.statut,
                "current_status_at": invoice.changed_at.astimezone(UTC).replace(second=0),
                "created_at": now,
                "updated_at": now,
            }
        )
    with engine.begin() as connection:
        connection.execute(sa.insert(Invoice), invoice_rows)
        ids: dict[int, int] = {
            int(str(cid)): int(str(iid))
            for cid, iid in connection.execute(
                sa.select(col(Invoice.chorus_invoice_id), col(Invoice.id))
            ).all()
        }
        events = [
            {
                "invoice_id": ids[invoice.id],
                "status": change.statut,
                "status_at": change.at.astimezone(UTC).replace(second=0),
                "source": "search",
                "recorded_at": now,
            }
            for invoice in store.invoices.values()
            for change in invoice.history
        ]
        connection.execute(sa.insert(StatusEvent), events)
        for siret in sorted({i.data.supplier.siret for i in store.invoices.values()}):
            connection.execute(
                sa.insert(SyncWatermark),
                [
                    {
                        "key": f"reconcile:{siret}",
                        "value": latest.astimezone(UTC),
                        "updated_at": now,
                    }
                ],
            )
    engine.dispose()
    return latest


def count_rows(url: str) -> dict[str, int]:
    engine = db.make_engine(url)
    with engine.connect() as connection:
        counts = {
            name: connection.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one()
            for name in ("invoice", "status_event", "alert")
        }
    engine.dispose()
    return counts


def synthetic_suppliers(count: int) -> tuple[seed.Supplier, ...]:
    """`count` supplier structures with valid SIRETs (Luhn), one entrepreneur service each."""
    template = seed.ANTIGONE
    made = []
    for index in range(count):
        siren = f"9{index:07d}"
        base = siren + luhn.calc_check_digit(siren) + "0001"
        siret = base + luhn.calc_check_digit(base)
        made.append(
            replace(
                template,
                id=39_000_000 + index,
                siret=siret,
                name=f"STRUCTURE {index + 1:02d}",
                services=(replace(template.services[0], id=49_000_000 + index),),
            )
        )
    return tuple(made)


def accounts_file(folder: Path, suppliers: tuple[seed.Supplier, ...]) -> Path:
    lines = [
        "[[piste_apps]]",
        'id = "bench"',
        f'client_id = "{DEFAULT_CLIENT_ID}"',
        'client_secret_from = "BENCH_PISTE_SECRET"',
        "rate_per_second = 1000",
        "",
        "[[cooperatives]]",
        'id = "bench"',
        'name = "Bench"',
        'accounting_email = "compta@bench.example"',
    ]
    for number, supplier in enumerate(suppliers, start=1):
        lines += [
            "",
            "[[cooperatives.structures]]",
            f'siret = "{supplier.siret}"',
            'piste_app = "bench"',
            f'login = "TECH_{number}_bench@cpro.fr"',
            'password_from = "BENCH_CPRO_PASSWORD"',
        ]
    path = folder / "accounts.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def structures_case(structures: int, per_structure: int, changed: int, where: str) -> None:
    """Reconciliation of N/5 then N structures, each with its own technical account."""
    every = synthetic_suppliers(structures)
    seed.register_suppliers(every)
    os.environ["BENCH_PISTE_SECRET"] = DEFAULT_CLIENT_SECRET
    os.environ["BENCH_CPRO_PASSWORD"] = DEFAULT_PASSWORD
    from prefect import flow

    @flow(name="warm-up")
    def warm_up() -> None:
        """Starts Prefect's temporary API so that its start-up is not counted below."""

    warm_up()
    timings: dict[int, float] = {}
    for count in sorted({max(1, structures // 5), structures}):
        suppliers = every[:count]
        config = SimulatorConfig(
            seed=7,
            attached_supplier_sirets=[],
            technical_accounts=[
                {
                    "login": f"TECH_{n}_bench@cpro.fr",
                    "password": DEFAULT_PASSWORD,
                    "attached_supplier_sirets": [s.siret],
                }
                for n, s in enumerate(suppliers, start=1)
            ],
        )
        store = Store(config)
        fill_store(store, per_structure * count, suppliers)
        workdir = Path(tempfile.mkdtemp(prefix="bench-reconcile-structures-"))
        _TEMPORARY.append(workdir)
        url = f"sqlite:///{workdir / 'warehouse.db'}"
        db.upgrade(url)
        fill_warehouse(url, store, cooperative="bench")
        store.clock.advance(timedelta(days=1))
        for supplier in suppliers:
            mine = [i for i in store.invoices.values() if i.data.supplier is supplier]
            for invoice in mine[:changed]:
                store.set_status(invoice, "MISE_EN_PAIEMENT")
        with serve(store, where) as base_url:
            os.environ["CHORUS_ETL_DATABASE_URL"] = url
            os.environ["CHORUS_ETL_CHORUS_API_URL"] = base_url
            os.environ["CHORUS_ETL_CHORUS_OAUTH_URL"] = f"{base_url}/api/oauth/token"
            os.environ["CHORUS_ETL_ACCOUNTS_FILE"] = str(accounts_file(workdir, suppliers))
            reset_settings_cache()
            from flows.reconcile import reconcile

            control = SimulatorControl(base_url)
            control.reset_stats()
            started = time.perf_counter()
            summary = reconcile(as_of=store.clock.today())
            timings[count] = time.perf_counter() - started
            stats = control.stats()
            control.close()
        searches = stats["requests"].get("/cpro/factures/v1/rechercher/fournisseur", 0)
        allowed = count * math.ceil(changed / 100)
        prefix = f"structures_{count}"
        figure(f"{prefix}.wall", timings[count], "s")
        figure(f"{prefix}.api_calls", stats["total"], "calls")
        figure(f"{prefix}.search_pages", searches, f"pages ({count} x {changed} changed)")
        figure(f"{prefix}.status_changes", summary["status_changes"])
        figure(f"{prefix}.halted", len(summary["halted"]), "structures")
        verdict(
            f"{count} structures: <= one search page per 100 changed invoices",
            searches <= allowed,
            f"{searches} pages, at most {allowed}",
        )
    small, large = sorted(timings)
    ratio = (timings[large] / large) / (timings[small] / small)
    figure(f"wall_per_structure.ratio_{large}_to_{small}", ratio, "x")
    verdict("wall time no worse than linear in the structures", ratio <= 1.25, f"{ratio:.2f} x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=5_000)
    parser.add_argument("--sample", type=int, default=1_000, help="history calls actually made")
    parser.add_argument("--structures", type=int, default=0, help="the many-structures case")
    parser.add_argument("--per-structure", type=int, default=400)
    parser.add_argument("--changed-per-structure", type=int, default=150)
    parser.add_argument(
        "--simulator",
        choices=["process", "thread"],
        default="process",
        help="where the simulator runs (process: no GIL shared with the flow, as Chorus Pro)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="run the flow call under cProfile (every thread, wall clock) into DIR",
    )
    args = parser.parse_args(argv)
    machine_figures("before")
    if args.structures:
        structures_case(
            args.structures, args.per_structure, args.changed_per_structure, args.simulator
        )
        machine_figures("after")
        return
    if not 0 < args.changed <= args.invoices or args.sample < 1:
        parser.error("need 0 < --changed <= --invoices and --sample >= 1")

    store = Store(SimulatorConfig(seed=7))
    started = time.perf_counter()
    fill_store(store, args.invoices)
    workdir = Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    _TEMPORARY.append(workdir)
    url = f"sqlite:///{workdir / 'warehouse.db'}"
    db.upgrade(url)
    fill_warehouse(url, store)
    figure("setup", time.perf_counter() - started, "s")
    note(f"{args.invoices} invoices in the simulator and the warehouse: setup, not timed below")

    store.clock.advance(timedelta(days=1))
    for invoice in list(store.invoices.values())[: args.changed]:
        store.set_status(invoice, "MISE_EN_PAIEMENT")

    with serve(store, args.simulator) as base_url:
        os.environ["CHORUS_ETL_DATABASE_URL"] = url
        os.environ["CHORUS_ETL_CHORUS_API_URL"] = base_url
        os.environ["CHORUS_ETL_CHORUS_OAUTH_URL"] = f"{base_url}/api/oauth/token"
        reset_settings_cache()
        from prefect import flow

        from flows.reconcile import reconcile

        @flow(name="warm-up")
        def warm_up() -> None:
            """Starts Prefect's temporary API so that its start-up is not counted below."""

        warm_up()
        control = SimulatorControl(base_url)
        before_rows = count_rows(url)
        control.reset_stats()
        profile = None
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
            profile = AllThreadsProfile(args.profile / "profile-reconcile-wall.prof")
        cpu = time.process_time()
        started = time.perf_counter()
        with profile if profile is not None else contextlib.nullcontext():
            summary = reconcile(as_of=store.clock.today())
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        stats = control.stats()
        calls = int(stats["total"])
        after_rows = count_rows(url)
        note("the flow call alone, Prefect's API already started; CPU of this process")
        note(f"(the simulator runs in a {args.simulator}; in a thread its CPU counts here)")
        figure("invoices", args.invoices)
        figure("changed", args.changed)
        figure("reconcile.wall", elapsed, "s")
        figure("reconcile.cpu", cpu, "s")
        figure("reconcile.api_calls", calls, "calls")
        for path, count in sorted(stats["requests"].items()):
            figure(f"reconcile.calls.{path}", count)
        figure("reconcile.status_changes", summary["status_changes"])
        written = {k: after_rows[k] - before_rows[k] for k in after_rows}
        figure("reconcile.rows_written", sum(written.values()), f"rows ({written})")

        from chorus_etl.chorus_client import chorus_pro_client
        from chorus_etl.config import get_settings

        open_ids = [i.id for i in store.invoices.values()]
        sample = min(args.sample, len(open_ids))
        with chorus_pro_client(get_settings()) as api:
            started = time.perf_counter()
            for invoice_id in open_ids[:sample]:
                api.get_history(invoice_id)
            per_call = (time.perf_counter() - started) / sample
        note(f"one history call per open invoice instead, measured on {sample} calls, extrapolated")
        figure("history_per_invoice.calls", len(open_ids), "calls")
        figure("history_per_invoice.per_call", per_call * 1000, "ms")
        figure("history_per_invoice.wall", per_call * len(open_ids), "s")
        control.close()
    machine_figures("after")
    verdict(f"<= {TARGET_CALLS} API calls", calls <= TARGET_CALLS, f"{calls} calls")
    verdict(f"flow <= {TARGET_SECONDS:g} s", elapsed <= TARGET_SECONDS, f"{elapsed:.2f} s")
    if profile is not None:
        note(f"cProfile (times above inflated by it): {args.profile}/profile-reconcile-wall.*")


if __name__ == "__main__":
    main()
