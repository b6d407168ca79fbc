"""What both benchmarks share: a sealed environment, a reusable sample export, figures, memory.

Benchmarks are only comparable from one run to the next if nothing outside them leaks in: a
developer's Prefect profile or `.env`, telemetry, a cold Prefect API start counted as pipeline
work. Everything that isolates a run lives here, so `bench.ingest` and `bench.deposit` isolate
theirs the same way. Prefect is never imported at module level: its settings are read at import,
so the environment must be fixed first (`seal_environment`).
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import os
import pstats
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

#: Where a kept work directory records which export it holds, so a later run can reuse it.
EXPORT_META = "bench-export.json"
EXPORT_DIR = "export"

#: Production defaults that a developer's shell or `.env` could otherwise override.
_SCRUBBED_PREFIXES = ("CHORUS_ETL_",)


def seal_environment(prefect_home: Path, *, log_level: str) -> None:
    """Fixes the environment before Prefect and the settings are imported.

    A private `PREFECT_HOME` gives each run an empty ephemeral API database (no history slowing
    it down, nothing written to the developer's home); no telemetry; no `PREFECT_API_URL`, so the
    flows talk to a local ephemeral server and nothing leaves 127.0.0.1. `CHORUS_ETL_*` variables
    are cleared so that only what the benchmark sets applies, and the pipeline's own log lines go
    to stderr (captured or discarded by the caller), keeping stdout for the figures.
    """
    prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ["PREFECT_HOME"] = str(prefect_home)
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["DO_NOT_TRACK"] = "1"
    os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
    os.environ["PREFECT_LOGGING_EXTRA_LOGGERS"] = "chorus_etl"
    os.environ["PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW"] = "ignore"
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.pop("PREFECT_API_KEY", None)
    for name in [n for n in os.environ if n.startswith(_SCRUBBED_PREFIXES)]:
        del os.environ[name]
    os.environ["CHORUS_ETL_CHORUS_ENV"] = "simulator"
    os.environ["CHORUS_ETL_LOG_LEVEL"] = log_level
    os.environ["CHORUS_ETL_LOG_FORMAT"] = "json"
    os.environ["CHORUS_ETL_LOG_STREAM"] = "stderr"


def point_pipeline_at(database_url: str, api_url: str, oauth_url: str, **extra: str) -> None:
    """Settings for the next flow call: this warehouse, this simulator, plus `extra` knobs
    (`deposit_concurrency="8"` sets `CHORUS_ETL_DEPOSIT_CONCURRENCY`). Settings are cached per
    process, hence the reset."""
    from chorus_etl.config import reset_settings_cache

    os.environ["CHORUS_ETL_DATABASE_URL"] = database_url
    os.environ["CHORUS_ETL_CHORUS_API_URL"] = api_url
    os.environ["CHORUS_ETL_CHORUS_OAUTH_URL"] = oauth_url
    for key, value in extra.items():
        os.environ[f"CHORUS_ETL_{key.upper()}"] = value
    reset_settings_cache()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def fresh_file(path: Path) -> Path:
    """`path` with no leftover (nor SQLite WAL/SHM companions) from an earlier run."""
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        candidate.unlink(missing_ok=True)
    return path


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a WAL-mode SQLite file (a plain file copy could miss the WAL)."""
    fresh_file(target)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


# --- work directory and sample export ---------------------------------------------------------


@contextmanager
def work_directory(keep: Path | None) -> Iterator[Path]:
    """`keep` (created, left in place) or a temporary directory removed afterwards."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep.resolve()
        return
    path = Path(tempfile.mkdtemp(prefix="chorus-etl-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class PreparedExport:
    """An export folder ready to ingest, and what it cost to produce (not benchmark time)."""

    path: Path
    invoices: int
    seed: int
    today: date
    generation_seconds: float
    reused: bool


def prepare_export(
    workdir: Path, *, invoices: int, seed: int, layout: str = "contract"
) -> PreparedExport:
    """Generates the sample export under `workdir`, or reuses the one a kept directory holds.

    Generating 10,000 real PDFs takes minutes on one core; reusing a kept export (same size and
    seed) lets one iterate on the measured part only. The generation date is recorded because
    validation judges invoice dates against "today": a reused export is ingested as of the day
    it was generated, so it validates the same way on any later day. `layout`: the contract's
    export or CAERP's (`tasks.sample.LAYOUTS`), the same invoices either way.
    """
    export_dir = workdir / EXPORT_DIR
    meta_path = workdir / EXPORT_META
    if meta_path.exists() and export_dir.is_dir():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        wanted = (invoices, seed, layout)
        if (meta.get("invoices"), meta.get("seed"), meta.get("layout", "contract")) == wanted:
            return PreparedExport(
                path=export_dir,
                invoices=invoices,
                seed=seed,
                today=date.fromisoformat(str(meta["today"])),
                generation_seconds=float(meta.get("generation_seconds", 0.0)),
                reused=True,
            )
    from tasks.sample import LAYOUTS

    shutil.rmtree(export_dir, ignore_errors=True)
    meta_path.unlink(missing_ok=True)
    today = date.today()
    started = time.perf_counter()
    LAYOUTS[layout](export_dir, invoices=invoices, seed_value=seed, today=today)
    elapsed = time.perf_counter() - started
    meta_path.write_text(
        json.dumps(
            {
                "invoices": invoices,
                "seed": seed,
                "layout": layout,
                "today": today.isoformat(),
                "generation_seconds": elapsed,
            }
        ),
        encoding="utf-8",
    )
    return PreparedExport(export_dir, invoices, seed, today, elapsed, reused=False)


def start_orchestration(workdir: Path, args: argparse.Namespace) -> PreparedExport:
    """The first steps every orchestrating benchmark takes: seal Prefect away, get the export.

    Generation is reported as a figure of its own, so nobody mistakes it for benchmark time.
    """
    seal_environment(workdir / "prefect-home-main", log_level=args.log_level)
    export = prepare_export(
        workdir, invoices=args.invoices, seed=args.seed, layout=getattr(args, "format", "contract")
    )
    if export.reused:
        note(f"export reused from {export.path} (generated {export.today}, not regenerated)")
    note("export generation is not benchmark time")
    figure("export.generation", export.generation_seconds, "s")
    return export


def invoice_pdf_paths(export_dir: Path) -> list[Path]:
    """The invoice PDFs the export references (one per invoice, not the attachments), in order.

    Read from the CSV rather than globbed, so the yardstick reads exactly the files the preflight
    reads; an invoice with several VAT rates has several rows but one PDF. A CAERP export has
    no such column: its PDFs are globbed (the merged file read as one).
    """
    if not (export_dir / "invoices.csv").exists():
        return sorted(export_dir.rglob("*.pdf"))
    with (export_dir / "invoices.csv").open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter=";")
        names = dict.fromkeys(row["fichier_pdf"] for row in rows if row["fichier_pdf"])
    return [export_dir / name for name in names]


# --- measuring and printing -------------------------------------------------------------------


class Stopwatch:
    """Wall-clock seconds of a block: `with Stopwatch() as watch: ...; watch.seconds`."""

    def __init__(self) -> None:
        self.started = 0.0
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self.started


def figure(name: str, value: float | int | str, unit: str = "") -> None:
    """One result line, `name: value unit`, easy to grep and to paste into docs/benchmarks.md."""
    if isinstance(value, float):
        text = f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    else:
        text = str(value)
    print(f"{name}: {text} {unit}".rstrip(), flush=True)


def note(text: str) -> None:
    """Context for the reader (what a figure includes); prefixed so it never parses as a figure."""
    print(f"# {text}", flush=True)


def verdict(target: str, met: bool, measured: str = "") -> None:
    """`target <what>: MET|MISSED (<measured>, load <1-min load>)`: every verdict carries the
    figure it judged and the machine's load when it was judged, so a missed target on a busy
    machine is read as such."""
    beside = ", ".join(part for part in (measured, f"load {load_average():.2f}") if part)
    figure(f"target {target}", f"{'MET' if met else 'MISSED'} ({beside})")


def machine_figures(when: str) -> None:
    """The cores and the 1-, 5- and 15-minute load averages, before or after the measured part."""
    one, five, fifteen = os.getloadavg()
    if when == "before":
        figure("machine.cpus", os.cpu_count() or 0)
    figure(f"machine.load_1min.{when}", one)
    figure(f"machine.load_5_15min.{when}", f"{five:.2f} / {fifteen:.2f}")


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """ru_maxrss in MB (Linux reports kB). For RUSAGE_CHILDREN it is the largest single child
    that has been waited for, not a sum: one PDF worker's peak, not the pool's."""
    return resource.getrusage(who).ru_maxrss / 1024


def cpu_seconds(exclude: Collection[int] = ()) -> float:
    """User + system CPU of this process (all threads), of its reaped children, and of its live
    descendants except Prefect's server, in seconds.

    The PDF workers outlive a flow call (the pool keeps them for the next one), so
    `RUSAGE_CHILDREN` alone would miss them; their running total is read from /proc instead.
    The sum is consistent across a worker's life: a difference of two readings is the CPU spent
    in between, whether the worker started, ran or was reaped in between. On a shared 2-core
    machine wall times move with other people's load, CPU seconds much less: a ratio that holds
    in CPU but not in wall time points at contention, not at the code. `exclude` leaves out live
    children that are not pipeline work (a simulator process).
    """
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in descendants(os.getpid()):
        if pid in exclude or "prefect.server" in _command_line(pid):
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def descendants(root: int) -> list[int]:
    """Every live process below `root` (children, grandchildren, ...)."""
    found: list[int] = []
    pending = _children_of(root)
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(_children_of(pid))
    return found


def load_average() -> float:
    """The 1-minute load average, printed with the figures so a loaded run can be spotted."""
    return os.getloadavg()[0]


def _children_of(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found.extend(int(p) for p in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def _status_kb(pid: int, *fields: str) -> dict[str, int]:
    values: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return values
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in fields:
            values[key] = int(rest.split()[0])
    return values


def _command_line(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


@dataclass
class MemoryPeaks:
    """What `MemorySampler` saw, in MB: the largest simultaneous RSS of the whole process tree and
    of the pipeline alone (the tree minus Prefect's server, a separate service in production), and
    the high-water mark of the largest process of each kind."""

    tree_mb: float = 0.0
    pipeline_mb: float = 0.0
    pdf_worker_mb: float = 0.0
    prefect_server_mb: float = 0.0
    other_children_mb: float = 0.0
    samples: int = 0


class MemorySampler:
    """Samples the RSS of this process and all its descendants in a background thread.

    `RUSAGE_CHILDREN` cannot say what the PDF workers weigh: Linux carries the parent's high-water
    mark into a child across `exec` (the child is forked from, or borrows, the parent's memory
    first), so every worker reports at least the parent's peak. `/proc/<pid>/status` does not
    have that flaw: `VmHWM` is the high-water mark of the worker's own image, and the sum of
    `VmRSS` over the tree is what the machine really had to hold at once. Peaks shorter than the
    sampling interval can be missed, hence a short interval; each sample costs a few /proc reads.
    """

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.peaks = MemoryPeaks()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-memory", daemon=True)
        self._kinds: dict[int, str] = {}

    def _kind(self, pid: int) -> str:
        if pid not in self._kinds:
            command = _command_line(pid)
            if "tasks.preflight.pool" in command:
                self._kinds[pid] = "pdf_worker"
            elif "prefect.server" in command:
                self._kinds[pid] = "prefect_server"
            # Anything else is asked again next time: a child seen between fork and exec still
            # shows its parent's command line.
        return self._kinds.get(pid, "other")

    def sample(self) -> None:
        me = os.getpid()
        tree = [me, *descendants(me)]
        total = pipeline = 0
        for pid in tree:
            status = _status_kb(pid, "VmRSS", "VmHWM")
            kind = "self" if pid == me else self._kind(pid)
            total += status.get("VmRSS", 0)
            if kind != "prefect_server":
                pipeline += status.get("VmRSS", 0)
            if pid == me:
                continue
            peak = status.get("VmHWM", 0) / 1024
            if kind == "pdf_worker":
                self.peaks.pdf_worker_mb = max(self.peaks.pdf_worker_mb, peak)
            elif kind == "prefect_server":
                self.peaks.prefect_server_mb = max(self.peaks.prefect_server_mb, peak)
            else:
                self.peaks.other_children_mb = max(self.peaks.other_children_mb, peak)
        self.peaks.tree_mb = max(self.peaks.tree_mb, total / 1024)
        self.peaks.pipeline_mb = max(self.peaks.pipeline_mb, pipeline / 1024)
        self.peaks.samples += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> MemorySampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def warm_up_prefect() -> float:
    """Seconds to run a trivial flow: starts the ephemeral Prefect API (a subprocess with its own
    database), a fixed cost of the process that no ingest or deposit pays twice."""
    from prefect import flow

    @flow(name="bench-warm-up", log_prints=False)
    def warm_up() -> int:
        return 1

    with Stopwatch() as watch:
        warm_up()
    return watch.seconds


def python_command(module: str, *args: str) -> list[str]:
    """This interpreter running `module` (the benchmarks re-run themselves for isolated phases)."""
    return [sys.executable, "-m", module, *args]


# --- isolated phases ----------------------------------------------------------------------------

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class PhaseFailed(RuntimeError):
    """A phase process exited with an error; its log says why."""


def run_phase(module: str, phase: str, workdir: Path, args: list[str]) -> dict[str, Any]:
    """Runs `python -m module --phase phase ...` in a fresh interpreter; returns its JSON result.

    A fresh process per measured phase, because `ru_maxrss` can only grow: memory of the export
    generation or of the pypdf yardstick's forked workers would otherwise be charged to the
    ingest. The phase runs in `workdir` (no developer `.env` is read there), its stdout and stderr
    (the pipeline's JSON log lines, Prefect's console log) go to `workdir/logs/<phase>.log`, so
    the terminal shows only figures; on failure the end of that log is raised.
    """
    logs = workdir / "logs"
    logs.mkdir(exist_ok=True)
    log_path = logs / f"{phase}.log"
    result_path = workdir / f"result-{phase}.json"
    result_path.unlink(missing_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
    )
    command = python_command(
        module, "--phase", phase, "--workdir", str(workdir), "--result", str(result_path), *args
    )
    with log_path.open("wb") as log:
        code = subprocess.call(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    if code != 0 or not result_path.exists():
        tail = log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
        raise PhaseFailed(f"phase {phase} exited with code {code}; end of {log_path}:\n{tail}")
    result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
    return result


def write_result(path: Path, result: dict[str, Any]) -> None:
    path.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")


@dataclass(frozen=True)
class TaskTimes:
    """Seconds inside each task of a flow run (summed over its runs), and how long at least one
    task was running: tasks may overlap, so the flow's time outside tasks is the wall time minus
    the latter, not minus the sum."""

    per_task: dict[str, float] = field(default_factory=dict)
    busy: float = 0.0


def task_run_seconds(flow_run_id: UUID | None, *, timeout: float = 30.0) -> TaskTimes:
    """The flow's own breakdown, read back from the Prefect API, without a profiler's distortion.

    A task's time runs from its `Running` state to its end; what Prefect does before (creating
    the run, walking the parameters for futures) is not in it, so the flow's wall time minus the
    time covered by tasks is the flow's own code outside tasks plus Prefect's orchestration.
    Task-run states reach the API as events, a moment after the flow returns: hence the polling.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    if flow_run_id is None:
        return TaskTimes()
    deadline = time.monotonic() + timeout
    query = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(flow_run_filter=query, limit=200)
            settled = runs and all(r.start_time and r.end_time for r in runs)
            if settled or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    totals: dict[str, float] = {}
    spans: list[tuple[float, float]] = []
    for run in runs:
        if run.start_time is None or run.end_time is None:
            continue
        name = run.name.rsplit("-", 1)[0]
        totals[name] = totals.get(name, 0.0) + (run.end_time - run.start_time).total_seconds()
        spans.append((run.start_time.timestamp(), run.end_time.timestamp()))
    busy, covered_to = 0.0, float("-inf")
    for start, end in sorted(spans):
        if end > covered_to:
            busy += end - max(start, covered_to)
            covered_to = end
    return TaskTimes(totals, busy)


def task_figures(prefix: str, wall: float, tasks: dict[str, float], busy: float) -> None:
    """One line per task, then what the flow spent outside all of them (`busy`: see TaskTimes)."""
    for name, seconds in sorted(tasks.items(), key=lambda item: -item[1]):
        figure(f"{prefix}.task.{name}", seconds, "s")
    figure(f"{prefix}.outside_tasks", wall - busy, "s")


class AllThreadsProfile:
    """cProfile over the current thread and every thread started inside the block, merged.

    `cProfile` sees one thread; the deposit does its work in a thread pool. `threading.setprofile`
    installs a hook in each new thread whose first call starts a profiler of its own for it.
    `clock="wall"` charges waiting (locks, sockets, SQLite's busy handler) to whoever waits;
    `clock="cpu"` (per-thread CPU time) shows what keeps the GIL busy, and is not distorted by
    other processes on a shared machine. Overhead is large either way: where, not how long.
    """

    def __init__(self, path: Path, clock: str = "wall") -> None:
        self.path = path
        self.timer = time.thread_time if clock == "cpu" else time.perf_counter
        self._profilers: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def _start_in_thread(self, *_args: object) -> None:
        profiler = cProfile.Profile(self.timer)
        with self._lock:
            self._profilers.append(profiler)
        profiler.enable()

    def __enter__(self) -> AllThreadsProfile:
        threading.setprofile(self._start_in_thread)
        self._start_in_thread()
        return self

    def __exit__(self, *_exc: object) -> None:
        threading.setprofile(None)
        for profiler in self._profilers:
            profiler.disable()
        text = io.StringIO()
        stats = pstats.Stats(self._profilers[0], stream=text)
        for profiler in self._profilers[1:]:
            stats.add(profiler)
        stats.dump_stats(self.path)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(40)
        self.path.with_suffix(".txt").write_text(text.getvalue(), encoding="utf-8")


# --- warehouses ---------------------------------------------------------------------------------


class Warehouses:
    """Fresh warehouses for a run, and copies of one (to deposit the same invoices twice).

    SQLite files in the work directory by default. With a PostgreSQL admin URL, databases named
    `chorus_etl_bench_<random>_<name>` on that server, cloned with `CREATE DATABASE ... TEMPLATE`
    and dropped at the end: production runs on PostgreSQL, whose concurrent writers behave very
    differently from SQLite's single write lock.
    """

    def __init__(self, workdir: Path, postgres_admin_url: str | None = None) -> None:
        self.workdir = workdir
        self.admin_url = postgres_admin_url
        self.prefix = f"chorus_etl_bench_{os.getpid()}_{int(time.time())}"
        self.created: list[str] = []

    @property
    def kind(self) -> str:
        return "postgresql" if self.admin_url else "sqlite"

    def _admin(self, statement: str) -> None:
        import sqlalchemy as sa

        engine = sa.create_engine(str(self.admin_url), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(sa.text(statement))
        finally:
            engine.dispose()

    def _pg_url(self, database: str) -> str:
        from sqlalchemy.engine import make_url

        url = make_url(str(self.admin_url)).set(database=database)
        return url.render_as_string(hide_password=False)

    def new(self, name: str) -> str:
        """The URL of an empty warehouse (the flow migrates it)."""
        if self.admin_url is None:
            return sqlite_url(fresh_file(self.workdir / f"{name}.db"))
        database = f"{self.prefix}_{name}"
        self._admin(f'CREATE DATABASE "{database}"')
        self.created.append(database)
        return self._pg_url(database)

    def clone(self, source: str, name: str) -> str:
        """The URL of a copy of warehouse `source` (a name given to `new` or `clone`)."""
        if self.admin_url is None:
            target = self.workdir / f"{name}.db"
            copy_sqlite(self.workdir / f"{source}.db", target)
            return sqlite_url(target)
        database = f"{self.prefix}_{name}"
        self._admin(f'CREATE DATABASE "{database}" TEMPLATE "{self.prefix}_{source}"')
        self.created.append(database)
        return self._pg_url(database)

    def drop_all(self) -> None:
        for database in reversed(self.created):
            self._admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self.created.clear()


def add_run_arguments(
    parser: argparse.ArgumentParser, *, keep_help: str, profile_help: str, phases: list[str]
) -> None:
    """The options every phased benchmark shares: where to work, how to log and profile, and the
    internal ones the orchestrator passes when it re-runs the module for one measured phase."""
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR", help=keep_help)
    parser.add_argument(
        "--log-level", default="INFO", help="pipeline log level (INFO, as in production)"
    )
    parser.add_argument(
        "--profile",
        nargs="?",
        const="wall",
        choices=["wall", "cpu"],
        default=None,
        help=profile_help,
    )
    parser.add_argument("--phase", choices=phases, help=argparse.SUPPRESS)
    for internal in ("--workdir", "--result", "--export"):
        parser.add_argument(internal, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--today", help=argparse.SUPPRESS)


def check_run_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.profile and args.keep is None and args.phase is None:
        parser.error("--profile needs --keep DIR (the stats are written there)")
