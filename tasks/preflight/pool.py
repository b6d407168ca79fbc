"""Running a per-file check in worker processes, so that one hostile file costs only itself.

A PDF parser fed untrusted files can loop, exhaust memory or take the interpreter down. Each file
therefore gets a time budget enforced inside the worker (`setitimer`), backed by the parent, which
kills a worker that stops answering; a worker that dies takes only the file it was on with it, the
rest of its chunk is handed to a fresh worker. A hand-rolled pool, rather than
`ProcessPoolExecutor`, because the executor fails every pending job when one worker dies and cannot
say which file did it.

A worker answers for several files at once (every 50 ms and at the end of each chunk), so that the
parent wakes a few times per second rather than once per file. When a worker dies or hangs, the
files it had not answered for are run again one per chunk; the one that fails alone is charged.

Workers are fresh interpreters started with `python -c`, not forks: the caller may be a Prefect task
with threads (and their locks) that a fork would copy half-held. Unlike multiprocessing's "spawn",
they do not re-import the caller's `__main__` (a flow script, a benchmark), which would cost seconds
per worker and run module code a second time; they import only the check.
"""

from __future__ import annotations

import math
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from types import FrameType
from typing import Any, Generic, Literal, TypeVar

J = TypeVar("J")
R = TypeVar("R")

Outcome = tuple[Literal["ok", "timeout", "error"], Any]

_BOOT = (
    "import sys\n"
    "from multiprocessing.connection import Connection\n"
    "conn = Connection(int(sys.argv[1]))\n"
    "sys.path[:] = conn.recv()\n"
    f"from {__name__} import serve\n"
    "serve(conn)\n"
)
_READY = "ready"
_STARTUP_LIMIT = 120.0  # seconds for a fresh interpreter to import the check, even on a loaded host
_CHUNKS_PER_WORKER = 4
_MAX_CHUNK = 16
_ANSWER_EVERY = 0.05  # seconds: how long a worker keeps its answers before sending them


class _Deadline(BaseException):
    """Raised by the alarm; a BaseException so that the parser's `except Exception` cannot eat it."""


_armed = False


def _on_alarm(_signum: int, _frame: FrameType | None) -> None:
    if _armed:
        raise _Deadline


def _run_one(func: Callable[[Any], Any], job: Any, timeout_seconds: float) -> Outcome:
    global _armed
    outcome: Outcome = ("timeout", None)
    try:
        _armed = True
        signal.setitimer(signal.ITIMER_REAL, timeout_seconds)
        try:
            outcome = ("ok", func(job))
        except Exception as exc:
            outcome = ("error", f"{type(exc).__name__}: {exc}")
        finally:
            _armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Deadline:
        # The alarm may also land between the job's end and the disarm: `outcome` then says "ok".
        outcome = outcome if outcome[0] == "ok" else ("timeout", None)
    return outcome


def serve(conn: Connection) -> None:
    """Worker main loop: one chunk at a time; its answers go out together, at the latest when the
    chunk ends, so a lone job (a suspect run again) is always answered before the next one starts."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, _on_alarm)
    func, timeout_seconds, initializer = conn.recv()
    if initializer is not None:
        initializer()
    conn.send(_READY)
    while True:
        try:
            chunk = conn.recv()
        except EOFError:
            return
        if chunk is None:
            return
        answers: list[tuple[int, Outcome]] = []
        sent = time.monotonic()
        for index, job in chunk:
            answers.append((index, _run_one(func, job, timeout_seconds)))
            if time.monotonic() - sent >= _ANSWER_EVERY:
                conn.send(answers)
                answers, sent = [], time.monotonic()
        if answers:
            conn.send(answers)


@dataclass
class _Worker(Generic[J]):
    process: subprocess.Popen[bytes]
    conn: Connection
    inflight: deque[tuple[int, J]] = field(default_factory=deque)
    started: float = 0.0
    ready: bool = False

    def assign(self, chunk: list[tuple[int, J]]) -> None:
        self.conn.send(chunk)
        if not self.inflight:
            self.started = time.monotonic()  # else the clock of the job under way runs on
        self.inflight.extend(chunk)

    def ask_to_stop(self, *, kill: bool) -> None:
        """Idle workers are asked to leave; busy or unreachable ones are killed."""
        if not kill:
            try:
                self.conn.send(None)
            except OSError:
                kill = True
        if kill:
            self.process.kill()

    def reap(self) -> None:
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.conn.close()

    def stop(self, *, kill: bool) -> None:
        self.ask_to_stop(kill=kill)
        self.reap()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


@dataclass
class _Batch(Generic[J, R]):
    """One call's book-keeping: what is queued, what each worker holds, what has come back."""

    owner: WorkerPool[J, R]
    jobs: Sequence[J]
    on_timeout: Callable[[J], R]
    on_crash: Callable[[J, str], R]
    pool: list[_Worker[J]]
    queue: deque[list[tuple[int, J]]] = field(default_factory=deque)
    results: dict[int, R] = field(default_factory=dict)
    suspects: set[int] = field(default_factory=set)
    chunk_size: int = 1

    def __post_init__(self) -> None:
        size = math.ceil(len(self.jobs) / (self.owner.workers * _CHUNKS_PER_WORKER))
        self.chunk_size = max(1, min(_MAX_CHUNK, size))
        indexed = list(enumerate(self.jobs))
        step = self.chunk_size
        self.queue.extend(indexed[i : i + step] for i in range(0, len(indexed), step))

    def limit_for(self, worker: _Worker[J]) -> float:
        """How long the parent waits for the worker's next answer before killing it: the job's
        budget plus a grace for a job stuck where the alarm cannot reach (C code), or the start-up."""
        if not worker.ready:
            return _STARTUP_LIMIT
        return self.owner.timeout_seconds + max(1.0, self.owner.timeout_seconds)

    def feed(self) -> None:
        """Gives a chunk to every worker on its last one, starting workers (again) while there is
        work queued. A worker gets its next chunk before it finishes the current one: it never
        waits for this process, which may be slow to answer when other threads hold the GIL."""
        for worker in [w for w in self.pool if len(w.inflight) <= self.chunk_size]:
            if self.queue:
                self.assign(worker, self.queue.popleft())
        while self.queue and len(self.pool) < self.owner.workers:
            worker = self.owner.start_worker()
            self.pool.append(worker)
            self.assign(worker, self.queue.popleft())

    def assign(self, worker: _Worker[J], chunk: list[tuple[int, J]]) -> None:
        try:
            if not worker.alive:
                raise BrokenPipeError
            worker.assign(chunk)
        except OSError:
            # The worker died: nothing of this chunk ran, so nothing of it is charged. The jobs it
            # still held, if any, are settled by `step` once the answers it sent are read.
            self.queue.appendleft(chunk)
            if not worker.inflight:
                self.discard(worker)

    def discard(self, worker: _Worker[J]) -> None:
        worker.stop(kill=True)
        self.pool.remove(worker)
        if not worker.ready:
            # Dead before its first job: the environment is broken (an unguarded `__main__`, an
            # import error), not a file. Charging files for it would hide the real failure.
            raise RuntimeError(
                f"PDF preflight worker exited with code {worker.process.returncode} while starting"
            )

    def drain(self, worker: _Worker[J]) -> bool:
        """Records the answers waiting in a pipe that `wait` found readable; False when the pipe
        is broken."""
        while True:
            try:
                message = worker.conn.recv()
            except Exception:
                # EOF or a reset when the worker died; an answer that cannot be unpickled loses
                # the thread of the conversation just the same.
                return False
            self.record(worker, message)
            try:
                if not worker.conn.poll():
                    return True
            except OSError:
                return False

    def record(self, worker: _Worker[J], message: Any) -> None:
        worker.started = time.monotonic()  # the next job's clock starts now
        if message == _READY:
            worker.ready = True
            return
        for index, (status, value) in message:
            _, job = worker.inflight.popleft()
            if status == "ok":
                self.results[index] = value
            elif status == "timeout":
                self.results[index] = self.on_timeout(job)
            else:
                self.results[index] = self.on_crash(job, str(value))

    def retire(self, worker: _Worker[J], *, timed_out: bool) -> None:
        """Charges the failure to the job the worker was on when that job is known, and queues the
        rest again; when it is not (answers still held by the worker), every unanswered job is run
        again alone, where a failure names its file."""
        self.discard(worker)
        unanswered = list(worker.inflight)
        if not unanswered:
            return
        index, job = unanswered[0]
        if len(unanswered) > 1 and index not in self.suspects:
            self.requeue(unanswered, suspects=True)
            return
        if timed_out:
            self.results[index] = self.on_timeout(job)
        else:
            exit_code = worker.process.returncode
            self.results[index] = self.on_crash(job, f"worker process died (exit code {exit_code})")
        if len(unanswered) > 1:
            self.requeue(unanswered[1:], suspects=False)

    def requeue(self, jobs: list[tuple[int, J]], *, suspects: bool) -> None:
        """Back to the front of the queue; a suspect goes alone, so that its failure is its own."""
        if suspects:
            self.suspects.update(index for index, _ in jobs)
        chunks = [[entry] for entry in jobs if entry[0] in self.suspects]
        others = [entry for entry in jobs if entry[0] not in self.suspects]
        if others:
            chunks.append(others)
        self.queue.extendleft(reversed(chunks))

    def step(self) -> None:
        self.feed()
        busy = [w for w in self.pool if w.inflight]
        if not busy:
            return
        deadline = min(w.started + self.limit_for(w) for w in busy)
        ready = wait([w.conn for w in busy], timeout=max(0.0, deadline - time.monotonic()))
        now = time.monotonic()
        for worker in busy:
            drained = worker.conn not in ready or self.drain(worker)
            if not drained or (worker.inflight and not worker.alive):
                self.retire(worker, timed_out=False)
            elif worker.inflight and now - worker.started > self.limit_for(worker):
                self.retire(worker, timed_out=True)

    def run(self, on_progress: Callable[[int], None] | None, every: int) -> list[R]:
        reported = 0
        while len(self.results) < len(self.jobs):
            self.step()
            if on_progress is not None and len(self.results) >= reported + every:
                reported = len(self.results)
                on_progress(reported)
        return [self.results[i] for i in range(len(self.jobs))]


def _stop_all(workers: list[_Worker[J]]) -> None:
    """All asked first, then all reaped: the workers wind down in parallel."""
    for worker in workers:
        worker.ask_to_stop(kill=bool(worker.inflight))
    for worker in workers:
        worker.reap()


class WorkerPool(Generic[J, R]):
    """Worker processes for one function, kept between batches: a flow that checks its PDFs chunk
    by chunk pays the interpreters' start-up once. Not for concurrent use; close it when done (the
    workers also leave on their own when this process exits)."""

    def __init__(
        self,
        func: Callable[[J], R],
        *,
        workers: int,
        timeout_seconds: float,
        initializer: Callable[[], None] | None = None,
    ) -> None:
        self.func = func
        self.workers = max(1, workers)
        self.timeout_seconds = max(0.001, timeout_seconds)
        self.initializer = initializer
        self._idle: list[_Worker[J]] = []

    def start_worker(self) -> _Worker[J]:
        parent_end, child_end = socket.socketpair()
        with child_end:
            fd = child_end.fileno()
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and our own code
                [sys.executable, "-c", _BOOT, str(fd)],
                pass_fds=(fd,),
                stdin=subprocess.DEVNULL,
            )
        conn = Connection(parent_end.detach())
        conn.send(sys.path)
        conn.send((self.func, self.timeout_seconds, self.initializer))
        return _Worker(process=process, conn=conn)

    @property
    def worker_pids(self) -> list[int]:
        """The process ids of the workers waiting for the next batch (for logs and tests)."""
        return [worker.process.pid for worker in self._idle]

    def run(
        self,
        jobs: Sequence[J],
        *,
        on_timeout: Callable[[J], R],
        on_crash: Callable[[J, str], R],
        on_progress: Callable[[int], None] | None = None,
        progress_every: int = 1000,
    ) -> list[R]:
        """`[func(job) for job in jobs]`, each job within the time budget, results in order.

        A job that overruns gets `on_timeout(job)`, one that raises or kills its worker gets
        `on_crash(job, what_happened)`; both run here in the parent, as does `on_progress(done)`,
        called each time about `progress_every` more jobs are done.
        """
        if not jobs:
            return []
        batch = _Batch(self, jobs, on_timeout, on_crash, pool=self._idle)
        self._idle = []
        try:
            results = batch.run(on_progress, max(1, progress_every))
        except BaseException:
            # Interrupted half-way: no worker is left in a state the next batch could trust.
            _stop_all(batch.pool)
            raise
        self._idle = batch.pool
        return results

    def close(self) -> None:
        workers, self._idle = self._idle, []
        _stop_all(workers)

    def __enter__(self) -> WorkerPool[J, R]:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def run_isolated(
    func: Callable[[J], R],
    jobs: Sequence[J],
    *,
    workers: int,
    timeout_seconds: float,
    on_timeout: Callable[[J], R],
    on_crash: Callable[[J, str], R],
    initializer: Callable[[], None] | None = None,
) -> list[R]:
    """One batch in a pool of its own, closed afterwards (see `WorkerPool`).

    `func` and `initializer` must be importable (module-level) functions.
    """
    with WorkerPool(
        func, workers=workers, timeout_seconds=timeout_seconds, initializer=initializer
    ) as pool:
        return pool.run(jobs, on_timeout=on_timeout, on_crash=on_crash)
