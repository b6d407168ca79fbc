"""Pipeline-run rows (one per flow run, with its counts, for the dashboards) and the set-up every flow opens with."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from schemas.warehouse import PipelineRun, utcnow


def _flow_run_id() -> str | None:
    try:
        from prefect.runtime import flow_run

        run_id = flow_run.id
    except Exception:  # outside a flow run there is simply no id
        return None
    return str(run_id) if run_id else None


@contextmanager
def recorded_run(
    engine: Engine, flow: str, cooperative: str | None = None
) -> Iterator[dict[str, Any]]:
    """Yields a dict the flow fills with counts; the row records success or the error.

    A run done for one cooperative names it: its dashboard shows that cooperative's runs only,
    whose counts say nothing of the others'; a run over the whole installation leaves it unset.
    """
    with Session(engine) as session:
        row = PipelineRun(flow=flow, flow_run_id=_flow_run_id(), cooperative=cooperative)
        session.add(row)
        session.commit()
        run_id = row.id
    counts: dict[str, Any] = {}
    outcome, message = "completed", None
    try:
        yield counts
    except BaseException as exc:
        outcome, message = "failed", f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        with Session(engine) as session:
            stored = session.get(PipelineRun, run_id)
            if stored is not None:
                stored.finished_at = utcnow()
                stored.outcome = outcome
                stored.message = message
                stored.counts_json = json.dumps(counts, default=str, sort_keys=True)
                session.add(stored)
                session.commit()


def runs_counts(engine: Engine, flow_run_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The counts each of these flow runs recorded (by flow run id), for a parent that fanned out."""
    if not flow_run_ids:
        return {}
    with Session(engine) as session:
        rows = session.exec(
            select(PipelineRun).where(col(PipelineRun.flow_run_id).in_(flow_run_ids))
        ).all()
    return {str(r.flow_run_id): json.loads(r.counts_json or "{}") for r in rows}


def current_flow_run_id() -> str | None:
    return _flow_run_id()
