"""Checks that misbehave on purpose, for the preflight pool's tests.

They run inside the worker processes, which import them by name: hence a module of their own that
imports nothing heavy (a worker importing the test module would pay for pytest and hypothesis).
Each behaves like `check_invoice_pdf` except on a file whose path contains "poison".
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tasks.preflight.pdfs import PdfCheck, PdfExpectations, check_invoice_pdf


def kill_worker_on_poison(
    export_dir: Path, relative_path: str, expected: PdfExpectations
) -> PdfCheck:
    """The worker process dies as under the OOM killer or a segfault in C code."""
    if "poison" in relative_path:
        os.kill(os.getpid(), signal.SIGKILL)
    return check_invoice_pdf(export_dir, relative_path, expected)


def raise_on_poison(export_dir: Path, relative_path: str, expected: PdfExpectations) -> PdfCheck:
    """A bug in the check itself."""
    if "poison" in relative_path:
        raise RuntimeError("a bug in the check")
    return check_invoice_pdf(export_dir, relative_path, expected)


def stuck_out_of_reach_on_poison(
    export_dir: Path, relative_path: str, expected: PdfExpectations
) -> PdfCheck:
    """Like a parser stuck in C code: the alarm is blocked, so only the parent can end it."""
    if "poison" in relative_path:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGUSR1})
        signal.sigwait({signal.SIGUSR1})
    return check_invoice_pdf(export_dir, relative_path, expected)


def broken_start() -> None:
    """A worker whose start-up fails, as with a missing dependency."""
    raise ImportError("simulated missing dependency")


def identity(job: int) -> int:
    return job


def worker_pid(_job: int) -> int:
    """Which worker ran the job."""
    return os.getpid()


def die_on_37(job: int) -> int:
    """`identity`, except that job 37 kills its worker (with the next chunk already sent to it)."""
    if job == 37:
        os.kill(os.getpid(), signal.SIGKILL)
    return job
