"""Fan-out: one deployment run per supplier structure, for Prefect workers to share.

The nightly and daily runs, when `CHORUS_ETL_FAN_OUT` is on, create a run of a per-structure
deployment for each structure, wait for them all, then do what concerns everyone once (overdue
sweep, alerts, dashboards). A run's idempotency key includes the parent run and the structure, so
a parent that is retried finds the children it already created instead of doubling them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from chorus_etl.log import get_logger

__all__ = ["ChildRun", "run_per_structure"]

log = get_logger(__name__)

#: How often the parent looks at its children's states while it waits.
POLL_SECONDS = 2.0


@dataclass(frozen=True)
class ChildRun:
    siret: str
    flow_run_id: UUID
    state: str
    completed: bool


def run_per_structure(
    deployment: str,
    sirets: list[str],
    parameters: dict[str, Any],
    *,
    key: str,
    timeout_seconds: float,
) -> list[ChildRun]:
    """Creates every child run first (workers start them as they come), then waits for all.

    A child still running at the deadline is reported as it is, not cancelled: its structure's
    work is exactly-once on its own and may finish after the parent gave up waiting.
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import FlowRun
    from prefect.deployments import run_deployment

    created: dict[str, UUID] = {}
    for siret in sirets:
        run = run_deployment(
            deployment,
            parameters={**parameters, "supplier_sirets": [siret]},
            timeout=0,
            idempotency_key=f"{key}:{siret}",
        )
        assert isinstance(run, FlowRun)
        created[siret] = run.id
    log.info("fanout.created", deployment=deployment, runs=len(created))
    finished: dict[str, FlowRun] = {}
    deadline = time.monotonic() + timeout_seconds
    with get_client(sync_client=True) as client:
        while True:
            for siret, run_id in created.items():
                if siret in finished:
                    continue
                run = client.read_flow_run(run_id)
                if run.state is not None and run.state.is_final():
                    finished[siret] = run
            if len(finished) == len(created) or time.monotonic() > deadline:
                break
            time.sleep(POLL_SECONDS)
        children = []
        for siret, run_id in created.items():
            run = finished.get(siret) or client.read_flow_run(run_id)
            state = run.state
            children.append(
                ChildRun(
                    siret=siret,
                    flow_run_id=run_id,
                    state=(state.name if state is not None else None) or "unknown",
                    completed=bool(state is not None and state.is_completed()),
                )
            )
    log.info(
        "fanout.done",
        deployment=deployment,
        completed=sum(c.completed for c in children),
        not_completed=[c.siret for c in children if not c.completed],
    )
    return children
