"""Deposit benchmark: does the `deposit` flow keep Chorus Pro busy, or does it wait on itself?

With a latency per call and `concurrency` calls in flight, no client can deposit faster than
`calls × latency / concurrency`; the target is a wall time within 1.1 × that ideal at 50 ms and
concurrency 8. A second run with no latency at all measures what the pipeline itself costs per
invoice (warehouse transactions, payload building, HTTP client, Prefect): target ≤ 2 ms of CPU.

Usage: `python -m bench.deposit [--invoices 1000] [--latency-ms 50] [--concurrency 8]
[--fault-rate 0] [--paced-invoices 200] [--keep DIR]`.

The export is generated and ingested first (not timed). The warehouse is then copied, so that the
0 ms run deposits the very same `ready` invoices into a reset simulator. The simulator runs in its
own process by default: Chorus Pro is a remote service, and a simulator thread would compete with
the deposit threads for this interpreter's GIL (`--simulator thread` measures that case).

Two paces apply to a real deposit, and neither is what the first two runs measure: the deposit
token bucket (`CHORUS_ETL_DEPOSIT_RATE_PER_SECOND`, write calls) and the PISTE application's rate
(`CHORUS_ETL_PISTE_RATE_PER_SECOND` or an accounts file's `rate_per_second`, every API call, used
at 80 %). Both are lifted far above what the run can reach, and every limit in force is printed.
Setting them in the shell does not do it: the benchmark clears `CHORUS_ETL_*` from its
environment (`bench.common.seal_environment`) and sets only its own knobs. What production's
configured paces allow ("how fast will production go") is reported apart: computed from the
measured calls per invoice and the configuration of the shell that started the benchmark (its
environment, `.env` and accounts file; the defaults without them), then checked by a third run of
`--paced-invoices` invoices deposited with those paces in force.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.common import (
    AllThreadsProfile,
    PhaseFailed,
    Stopwatch,
    Warehouses,
    add_run_arguments,
    check_run_arguments,
    cpu_seconds,
    figure,
    machine_figures,
    note,
    point_pipeline_at,
    run_phase,
    seal_environment,
    start_orchestration,
    task_figures,
    task_run_seconds,
    verdict,
    work_directory,
    write_result,
)

if TYPE_CHECKING:
    from chorus_pro.simulator.server import SimulatorControl

MODULE = "bench.deposit"
TARGET_RATIO_TO_IDEAL = 1.1
#: The pipeline's own CPU per invoice in the 0 ms run.
TARGET_OWN_CPU_MS = 2.0
#: Calls per second both pacers allow when lifted: far above what 2 cores and 8 threads reach.
UNTHROTTLED_RATE = 10_000.0
#: The API paths the deposit token bucket paces (uploads, submissions, look-ups by number);
#: every API path is paced by the PISTE application's rate.
PACED_WRITES = ("ajouter/fichier", "soumettre", "rechercher/fournisseur", "deposer/flux")
#: Share of the fault rate per kind: rate limiting, server errors, and the worst case for
#: exactly-once, a write committed on Chorus' side whose answer is lost.
FAULT_SPREAD = {
    "rate_429": 1 / 3,
    "rate_500": 1 / 9,
    "rate_502": 1 / 9,
    "rate_503": 1 / 9,
    "rate_commit_then_fail": 1 / 3,
}


@dataclass
class DepositRun:
    """One call of the `deposit` flow and what the simulator saw of it."""

    latency_ms: int
    seconds: float
    cpu_seconds: float
    counts: dict[str, int]
    api_calls: int
    calls_by_path: dict[str, int]
    faults: dict[str, int]
    tasks: dict[str, float] = field(default_factory=dict)
    tasks_busy: float = 0.0
    #: The most API requests the simulator saw start within one sliding second, and its 429s.
    peak_per_second: int = 0
    throttled: int = 0

    @property
    def deposited(self) -> int:
        return self.counts.get("deposited", 0) + self.counts.get("found_existing", 0)


@dataclass
class DepositBenchResult:
    ready: int
    ingest_seconds: float
    simulator: str
    warehouse: str
    main: DepositRun
    overhead: DepositRun | None
    #: What paced the measured runs (see `limits_in_force`).
    limits: dict[str, Any] = field(default_factory=dict)
    #: The third run: production's configured paces in force, on `--paced-invoices` invoices.
    paced: DepositRun | None = None
    paced_limits: dict[str, Any] = field(default_factory=dict)


def _delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, int]:
    keys = set(after) | set(before)
    changes = {k: int(after.get(k, 0)) - int(before.get(k, 0)) for k in keys}
    return {k: v for k, v in sorted(changes.items()) if v}


def deposit_once(
    control: SimulatorControl,
    *,
    latency_ms: int,
    fault_rate: float,
    retry_after: int,
    exclude: list[int],
    profile: Path | None = None,
    clock: str = "wall",
    invoice_numbers: list[str] | None = None,
) -> DepositRun:
    """Sets the simulator's latency and faults, then times one call of the flow (under cProfile,
    every thread, when `profile` names a file: the times are then inflated); `invoice_numbers`
    restricts it to those invoices."""
    from flows.deposit import deposit

    control.set_config(latency_ms=latency_ms)
    if fault_rate > 0:
        faults: dict[str, Any] = {k: fault_rate * share for k, share in FAULT_SPREAD.items()}
        control.set_faults(**faults, retry_after_seconds=retry_after)
    else:
        control.set_faults()
    control.reset_stats()
    before = control.stats()
    cpu_before = cpu_seconds(exclude)
    with Stopwatch() as watch, AllThreadsProfile(profile, clock) if profile else nullcontext():
        state = deposit(invoice_numbers=invoice_numbers, return_state=True)
    cpu = cpu_seconds(exclude) - cpu_before
    after = control.stats()
    summary: dict[str, Any] = state.result()
    tasks = task_run_seconds(state.state_details.flow_run_id)
    clients = after.get("by_client", {}).values()
    return DepositRun(
        latency_ms=latency_ms,
        seconds=watch.seconds,
        cpu_seconds=cpu,
        counts=dict(summary["counts"]),
        api_calls=int(after["total"]) - int(before["total"]),
        calls_by_path=_delta(after["requests"], before["requests"]),
        faults=_delta(after["faults"], before["faults"]),
        tasks=tasks.per_task,
        tasks_busy=tasks.busy,
        peak_per_second=max((int(c.get("max_per_second", 0)) for c in clients), default=0),
        throttled=sum(int(c.get("throttled", 0)) for c in clients),
    )


def limits_in_force(control: SimulatorControl) -> dict[str, Any]:
    """Everything that can pace the next flow call, read where the pipeline reads it: the
    settings of this process, the accounts built from them, the client configuration, and the
    simulator's own quota and latency."""
    from chorus_etl.accounts import load_accounts
    from chorus_etl.chorus_client import chorus_pro_config
    from chorus_etl.config import get_settings
    from chorus_etl.pacing import SAFETY

    settings = get_settings()
    accounts = load_accounts(settings)
    account = accounts.account(accounts.sirets()[0])
    simulator = control.config()
    return {
        "deposit_rate_per_second": settings.deposit_rate_per_second,
        "piste_rate_per_second": {app.id: app.rate_per_second for app in accounts.piste_apps},
        "piste_safety": SAFETY,
        "rate_limit_backend": settings.rate_limit_backend,
        "deposit_concurrency": settings.deposit_concurrency,
        "deposit_batch_size": settings.deposit_batch_size,
        "http_max_connections": chorus_pro_config(settings, account).max_connections,
        "simulator_quota_per_second": simulator.get("rate_limit_per_second"),
        "simulator_latency_ms": simulator.get("latency_ms"),
    }


def _ready_numbers(url: str, limit: int) -> list[str]:
    """The first `limit` ready invoices' numbers (the paced run deposits only those)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT invoice_number FROM invoice WHERE state = 'ready' "
                    "ORDER BY id LIMIT :limit"
                ),
                {"limit": limit},
            )
            return [str(row[0]) for row in rows]
    finally:
        engine.dispose()


def _start_simulator(kind: str, workdir: Path) -> AbstractContextManager[Any]:
    from chorus_pro.simulator import SimulatorConfig, run_simulator_in_thread
    from chorus_pro.simulator.server import start_simulator_process

    if kind == "thread":
        return run_simulator_in_thread(SimulatorConfig())
    return start_simulator_process(SimulatorConfig(), log_path=workdir / "logs" / "simulator.log")


def measure_deposit(args: argparse.Namespace) -> DepositBenchResult:
    """Ingest (untimed), the measured deposit, then the same deposit again at 0 ms latency."""
    from flows.ingest import ingest

    workdir: Path = args.workdir
    # Both pacers lifted: the deposit token bucket and the PISTE application's rate (the
    # single-account settings' application, `chorus_etl.accounts._single_account`).
    knobs = {
        "deposit_concurrency": str(args.concurrency),
        "deposit_rate_per_second": str(UNTHROTTLED_RATE),
        "piste_rate_per_second": str(UNTHROTTLED_RATE),
    }
    production = {
        "deposit_concurrency": str(args.production_concurrency),
        "deposit_rate_per_second": str(args.production_deposit_rate),
        "piste_rate_per_second": str(args.production_piste_rate),
    }
    warehouses = Warehouses(workdir, args.postgres)
    with _start_simulator(args.simulator, workdir) as simulator:
        exclude = [simulator.pid] if hasattr(simulator, "pid") else []

        def use(url: str, settings: dict[str, str] = knobs) -> None:
            point_pipeline_at(url, simulator.base_url, simulator.oauth_url, **settings)

        try:
            use(warehouses.new("deposit"))
            with Stopwatch() as ingest_watch:
                report: dict[str, Any] = ingest(args.export, today=date.fromisoformat(args.today))
            ready = int(report["counts"].get("state_ready", 0))
            after_ingest = warehouses.clone("deposit", "after_ingest")
            simulator.control.set_config(latency_ms=args.latency_ms)
            limits = limits_in_force(simulator.control)
            main = deposit_once(
                simulator.control,
                latency_ms=args.latency_ms,
                fault_rate=args.fault_rate,
                retry_after=args.retry_after_seconds,
                exclude=exclude,
                profile=workdir / f"profile-deposit-main-{args.profile}.prof"
                if args.profile
                else None,
                clock=args.profile or "wall",
            )
            overhead: DepositRun | None = None
            if args.latency_ms == 0 and args.fault_rate == 0:
                overhead = main
            elif not args.skip_overhead_run:
                use(warehouses.clone("after_ingest", "overhead"))
                simulator.control.reset()
                overhead = deposit_once(
                    simulator.control,
                    latency_ms=0,
                    fault_rate=0,
                    retry_after=0,
                    exclude=exclude,
                    profile=workdir / f"profile-deposit-0ms-{args.profile}.prof"
                    if args.profile
                    else None,
                    clock=args.profile or "wall",
                )
            paced: DepositRun | None = None
            paced_limits: dict[str, Any] = {}
            if args.paced_invoices > 0:
                numbers = _ready_numbers(after_ingest, args.paced_invoices)
                use(warehouses.clone("after_ingest", "paced"), production)
                simulator.control.reset()
                simulator.control.set_config(latency_ms=args.latency_ms)
                paced_limits = limits_in_force(simulator.control)
                paced = deposit_once(
                    simulator.control,
                    latency_ms=args.latency_ms,
                    fault_rate=0,
                    retry_after=0,
                    exclude=exclude,
                    invoice_numbers=numbers,
                )
        finally:
            warehouses.drop_all()
    return DepositBenchResult(
        ready,
        ingest_watch.seconds,
        args.simulator,
        warehouses.kind,
        main,
        overhead,
        limits,
        paced,
        paced_limits,
    )


# --- the orchestrator -----------------------------------------------------------------------------


def _run_from_json(data: dict[str, Any]) -> DepositRun:
    return DepositRun(**data)


def _result_from_json(data: dict[str, Any]) -> DepositBenchResult:
    overhead, paced = data["overhead"], data.get("paced")
    return DepositBenchResult(
        ready=data["ready"],
        ingest_seconds=data["ingest_seconds"],
        simulator=data["simulator"],
        warehouse=data["warehouse"],
        main=_run_from_json(data["main"]),
        overhead=_run_from_json(overhead) if overhead is not None else None,
        limits=data.get("limits", {}),
        paced=_run_from_json(paced) if paced is not None else None,
        paced_limits=data.get("paced_limits", {}),
    )


def limit_figures(prefix: str, limits: dict[str, Any]) -> None:
    """One line per limit in force (`prefix.deposit_rate_per_second: 10000 calls/s`...)."""
    units = {
        "deposit_rate_per_second": "write calls/s",
        "piste_safety": "x (share of the PISTE rate used)",
        "deposit_concurrency": "deposits in flight",
        "deposit_batch_size": "invoices",
        "http_max_connections": "connections per PISTE application",
        "simulator_latency_ms": "ms",
    }
    for name, value in limits.items():
        if name == "piste_rate_per_second":
            for app, rate in value.items():
                figure(f"{prefix}.piste_rate_per_second.{app}", rate, "calls/s")
                paced = rate * limits.get("piste_safety", 1.0)
                figure(f"{prefix}.piste_pacing_per_second.{app}", paced, "calls/s")
        elif name == "simulator_quota_per_second":
            figure(f"{prefix}.{name}", "none" if value is None else value, "calls/s")
        else:
            figure(f"{prefix}.{name}", value, units.get(name, ""))


@dataclass(frozen=True)
class PacingBound:
    """Invoices per second one pace allows, given the calls an invoice needs."""

    name: str
    invoices_per_second: float
    why: str


def production_bounds(
    run: DepositRun, limits: dict[str, Any], latency_ms: int
) -> list[PacingBound]:
    """What each configured pace allows, from the calls per invoice measured in `run` (all of
    them go through the PISTE pacer; uploads, submissions and look-ups through the deposit
    token bucket too), fastest last; the slowest binds."""
    count = max(1, run.deposited)
    calls = run.api_calls / count
    writes = sum(n for path, n in run.calls_by_path.items() if path.endswith(PACED_WRITES)) / count
    piste = min(limits["piste_rate_per_second"].values()) * limits["piste_safety"]
    deposit_rate = float(limits["deposit_rate_per_second"])
    concurrency = int(limits["deposit_concurrency"])
    bounds = [
        PacingBound(
            "deposit_rate",
            deposit_rate / writes if writes else float("inf"),
            f"{deposit_rate:g} write calls/s / {writes:.3f} write calls per invoice",
        ),
        PacingBound(
            "piste_rate",
            piste / calls if calls else float("inf"),
            f"{piste:g} calls/s ({limits['piste_safety']:g} x the PISTE rate) / "
            f"{calls:.3f} calls per invoice",
        ),
        PacingBound(
            "latency",
            concurrency / (calls * latency_ms / 1000) if calls and latency_ms else float("inf"),
            f"{concurrency} in flight / ({calls:.3f} calls x {latency_ms} ms)",
        ),
    ]
    return sorted(bounds, key=lambda bound: bound.invoices_per_second)


def production_report(args: argparse.Namespace, result: DepositBenchResult) -> None:
    """How fast production goes: the configured paces against the measured calls per invoice,
    then the paced run that checks it."""
    main = result.main
    limits = result.paced_limits or {
        "deposit_rate_per_second": args.production_deposit_rate,
        "piste_rate_per_second": {"configured": args.production_piste_rate},
        "piste_safety": 0.8,
        "deposit_concurrency": args.production_concurrency,
    }
    note(
        "production: the paces configured where the benchmark was started "
        f"({args.production_source}), against the calls per invoice measured above; the "
        f"latency of Chorus Pro itself is unknown, {args.latency_ms} ms assumed"
    )
    limit_figures("production.limit", limits)
    bounds = production_bounds(main, limits, args.latency_ms)
    for bound in bounds:
        figure(
            f"production.bound.{bound.name}", bound.invoices_per_second, f"invoices/s ({bound.why})"
        )
    binding = bounds[0]
    figure("production.binding_pace", binding.name)
    figure("production.predicted_throughput", binding.invoices_per_second, "invoices/s")
    figure(
        "production.predicted_wall_1000_invoices",
        1000 / binding.invoices_per_second if binding.invoices_per_second else float("inf"),
        "s",
    )
    paced = result.paced
    if paced is None:
        note("no paced run (--paced-invoices 0)")
        return
    note(f"paced run: {paced.deposited} invoices deposited with those paces in force")
    figure("production.paced.invoices_deposited", paced.deposited, "invoices")
    figure("production.paced.wall", paced.seconds, "s")
    measured = paced.deposited / paced.seconds if paced.seconds else 0.0
    figure("production.paced.throughput", measured, "invoices/s")
    figure("production.paced.peak_requests_per_second", paced.peak_per_second, "calls/s")
    figure(
        "production.paced.ratio_to_predicted",
        binding.invoices_per_second / measured if measured else float("inf"),
        "x (predicted / measured throughput)",
    )
    note("a paced run pays the flow's fixed costs over few invoices: its ratio sits above 1")


def report(args: argparse.Namespace, result: DepositBenchResult) -> None:
    """Prints the figures and the verdict on the target."""
    main = result.main
    note(f"simulator in a {result.simulator}; ingest before the deposit, not timed")
    figure("warehouse", result.warehouse)
    figure("ingest.wall", result.ingest_seconds, "s")
    figure("invoices.ready", result.ready, "invoices")
    note(
        "limits in force in the measured runs: both pacers lifted (CHORUS_ETL_DEPOSIT_RATE_PER_"
        "SECOND and CHORUS_ETL_PISTE_RATE_PER_SECOND set by the benchmark; the shell's "
        "CHORUS_ETL_* are cleared)"
    )
    limit_figures("limit", result.limits)
    figure("concurrency", args.concurrency, "threads")
    figure("latency", main.latency_ms, "ms")
    figure("fault_rate", args.fault_rate)
    figure("deposit.invoices_deposited", main.deposited, "invoices")
    for name, count in sorted(main.counts.items()):
        if name not in {"deposited"} and count:
            figure(f"deposit.result.{name}", count)
    figure("deposit.wall", main.seconds, "s")
    throughput = main.deposited / main.seconds if main.seconds else 0.0
    figure("deposit.throughput", throughput, "invoices/s")
    per_invoice = main.api_calls / main.deposited if main.deposited else 0.0
    figure("deposit.api_calls", main.api_calls, "calls")
    figure("deposit.api_calls_per_invoice", per_invoice, "calls/invoice")
    for path, count in main.calls_by_path.items():
        figure(f"deposit.calls.{path}", count)
    for kind, count in main.faults.items():
        figure(f"deposit.faults.{kind}", count)
    ideal = main.api_calls * main.latency_ms / 1000 / args.concurrency
    figure("deposit.ideal_wall", ideal, "s")
    note("ideal = calls x latency / concurrency: Chorus Pro busy all the time, nothing else")
    ratio = main.seconds / ideal if ideal else float("inf")
    figure("deposit.ratio_wall_to_ideal", ratio, "x")
    figure("deposit.peak_requests_per_second", main.peak_per_second, "calls/s")
    figure("deposit.simulator_429", main.throttled, "calls")
    figure("deposit.cpu", main.cpu_seconds, "s")
    note("CPU = the deposit process (all threads; the simulator too if it runs in a thread)")
    figure("deposit.cpu_per_invoice", 1000 * main.cpu_seconds / max(1, main.deposited), "ms")
    note("task times are summed over the batches, two of which run at once")
    task_figures("deposit", main.seconds, main.tasks, main.tasks_busy)
    overhead = result.overhead
    own_cpu = None
    if overhead is not None:
        note("pipeline overhead: the same invoices deposited again at 0 ms latency, no faults")
        figure("overhead.invoices_deposited", overhead.deposited, "invoices")
        figure("overhead.wall", overhead.seconds, "s")
        count = max(1, overhead.deposited)
        figure("overhead.per_invoice", 1000 * overhead.seconds / count, "ms")
        own_cpu = 1000 * overhead.cpu_seconds / count
        figure("overhead.cpu_per_invoice", own_cpu, "ms")
        figure("overhead.throughput", overhead.deposited / overhead.seconds, "invoices/s")
        figure("overhead.peak_requests_per_second", overhead.peak_per_second, "calls/s")
    production_report(args, result)
    if args.fault_rate == 0 and main.latency_ms > 0:
        verdict(
            f"wall <= {TARGET_RATIO_TO_IDEAL} x ideal "
            f"({main.latency_ms} ms, concurrency {args.concurrency})",
            ratio <= TARGET_RATIO_TO_IDEAL,
            f"{ratio:.2f} x",
        )
    else:
        note(
            f"the {TARGET_RATIO_TO_IDEAL} x ideal target is defined without faults and with a latency"
        )
    if own_cpu is not None:
        verdict(
            f"own cost at zero latency <= {TARGET_OWN_CPU_MS:g} ms CPU per invoice",
            own_cpu <= TARGET_OWN_CPU_MS,
            f"{own_cpu:.2f} ms",
        )
    if args.profile:
        note(f"cProfile ({args.profile} clock; times above inflated by it): {args.keep}/profile-*")
    if main.deposited != result.ready:
        note(f"{result.ready - main.deposited} ready invoices were not deposited: see the counts")


def configured_pacing(args: argparse.Namespace) -> None:
    """Production's paces as the shell that started the benchmark configures them (environment,
    `.env`, accounts file), read before `seal_environment` clears them; the settings' defaults
    when they cannot be read. Explicit `--production-*` options win."""
    from chorus_etl.accounts import load_accounts
    from chorus_etl.settings import Settings

    source = "the shell's settings; --production-* options win"
    try:
        settings = Settings()
        rates = [app.rate_per_second for app in load_accounts(settings).piste_apps]
    except Exception as exc:  # a broken .env or accounts file: say so, use the defaults
        source = f"the defaults (the shell's settings are unreadable: {type(exc).__name__})"
        settings = Settings.model_construct()
        rates = [float(Settings.model_fields["piste_rate_per_second"].default)]
    if args.production_deposit_rate is None:
        args.production_deposit_rate = settings.deposit_rate_per_second
    if args.production_piste_rate is None:
        args.production_piste_rate = min(rates)
    if args.production_concurrency is None:
        args.production_concurrency = settings.deposit_concurrency
    args.production_source = source


def orchestrate(args: argparse.Namespace) -> int:
    configured_pacing(args)
    with work_directory(args.keep) as workdir:
        export = start_orchestration(workdir, args)
        machine_figures("before")
        passed = [
            "--export",
            str(export.path),
            "--today",
            export.today.isoformat(),
            "--log-level",
            args.log_level,
            "--latency-ms",
            str(args.latency_ms),
            "--concurrency",
            str(args.concurrency),
            "--fault-rate",
            str(args.fault_rate),
            "--retry-after-seconds",
            str(args.retry_after_seconds),
            "--simulator",
            args.simulator,
            "--paced-invoices",
            str(args.paced_invoices),
            "--production-deposit-rate",
            str(args.production_deposit_rate),
            "--production-piste-rate",
            str(args.production_piste_rate),
            "--production-concurrency",
            str(args.production_concurrency),
            *(["--skip-overhead-run"] if args.skip_overhead_run else []),
            *(["--profile", args.profile] if args.profile else []),
            *(["--postgres", args.postgres] if args.postgres else []),
        ]
        try:
            data = run_phase(MODULE, "deposit", workdir, passed)
        except PhaseFailed as exc:
            print(exc, file=sys.stderr)
            return 1
        machine_figures("after")
        report(args, _result_from_json(data))
        if args.keep is not None:
            note(f"kept: {workdir} (export, warehouses, logs/)")
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.deposit", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--invoices", type=int, default=1000, help="export size (1000)")
    parser.add_argument("--seed", type=int, default=1, help="sample export seed (1)")
    parser.add_argument("--latency-ms", type=int, default=50, help="simulator latency (50)")
    parser.add_argument("--concurrency", type=int, default=8, help="deposit threads (8)")
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="share of API calls that fail, spread over 429 / 500 / 502 / 503 / "
        "commit-then-fail (0)",
    )
    parser.add_argument(
        "--retry-after-seconds", type=int, default=1, help="Retry-After of injected 429/503 (1)"
    )
    parser.add_argument(
        "--simulator",
        choices=["process", "thread"],
        default="process",
        help="where the simulator runs (process: no GIL shared with the pipeline)",
    )
    parser.add_argument(
        "--postgres",
        metavar="ADMIN_URL",
        default=None,
        help="use fresh PostgreSQL databases on this server (created and dropped through this "
        "URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres) instead of SQLite",
    )
    parser.add_argument(
        "--skip-overhead-run", action="store_true", help="no second run at 0 ms latency"
    )
    parser.add_argument(
        "--paced-invoices",
        type=int,
        default=200,
        help="invoices deposited in a third run with production's configured paces (200; 0: none)",
    )
    parser.add_argument(
        "--production-deposit-rate",
        type=float,
        default=None,
        help="production's CHORUS_ETL_DEPOSIT_RATE_PER_SECOND (default: as configured, else 20)",
    )
    parser.add_argument(
        "--production-piste-rate",
        type=float,
        default=None,
        help="production's PISTE application rate (default: as configured, else 50)",
    )
    parser.add_argument(
        "--production-concurrency",
        type=int,
        default=None,
        help="production's CHORUS_ETL_DEPOSIT_CONCURRENCY (default: as configured, else 8)",
    )
    add_run_arguments(
        parser,
        keep_help="work in DIR and keep it; a later run with the same --invoices and --seed reuses its export",
        profile_help="run the deposits under cProfile, every thread (inflates their times); stats in the work directory",
        phases=["deposit"],
    )
    args = parser.parse_args(argv)
    check_run_arguments(parser, args)
    if args.invoices < 1 or args.concurrency < 1 or args.latency_ms < 0:
        parser.error("--invoices and --concurrency must be >= 1, --latency-ms >= 0")
    if not 0 <= args.fault_rate <= 1:
        parser.error("--fault-rate must be between 0 and 1")
    if args.paced_invoices < 0:
        parser.error("--paced-invoices must be >= 0")
    args.production_source = "given on the command line"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.phase is None:
        return orchestrate(args)
    home = Path(tempfile.mkdtemp(prefix="prefect-home-deposit-", dir=args.workdir))
    seal_environment(home, log_level=args.log_level)
    started = time.monotonic()
    result = measure_deposit(args)
    data = asdict(result)
    data["phase_seconds"] = time.monotonic() - started
    write_result(args.result, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
