"""Serve every deployment of `prefect.yaml` from one long-lived process on one host.

The lightest way to run the pipeline on a schedule: no work pool, no worker, only this process and a
Prefect server (`PREFECT_API_URL`):

    python deployments/serve.py

Each flow run executes in a child process that loads its flow from the entrypoint, a path relative to
the checkout; so this process moves into the checkout first, as the worker's pull step does, and
`.env` and the default `var/` folder are the checkout's in both set-ups.

Names, entrypoints, parameters, schedules, tags, descriptions and concurrency limits are read from
`prefect.yaml`, the file `prefect deploy` uses for the worker set-up, so the two cannot drift.
Anything in a deployment of that file that this module does not translate is an error, not silently
dropped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import prefect
import yaml  # type: ignore[import-untyped]  # PyYAML ships no annotations
from prefect import Flow
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.flows import load_flow_from_entrypoint
from prefect.schedules import Cron, Schedule

PREFECT_FILE = Path(__file__).resolve().with_name("prefect.yaml")
REPO_ROOT = PREFECT_FILE.parent.parent

#: Deployment keys that only matter to a worker (where to run, how to get the code there).
WORKER_ONLY_KEYS = frozenset({"work_pool", "pull", "build", "push"})
#: Deployment keys translated into `Flow.to_deployment` arguments.
SERVED_KEYS = frozenset(
    {
        "name",
        "entrypoint",
        "description",
        "tags",
        "parameters",
        "schedules",
        "concurrency_limit",
        "enforce_parameter_schema",
        "version",
    }
)
SCHEDULE_KEYS = frozenset({"cron", "timezone", "day_or", "active", "parameters", "slug"})


def load_deployment_specs(path: Path = PREFECT_FILE) -> list[dict[str, Any]]:
    """The `deployments:` entries of the file, with YAML anchors and merge keys resolved."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    specs: list[dict[str, Any]] = document["deployments"]
    return specs


def load_flow(entrypoint: str) -> Flow[..., Any]:
    """The flow behind `path/to/module.py:function`, the file of this checkout.

    Loaded the way each run loads it (Prefect executes the file), whichever directory this module
    is imported from.
    """
    file_part, _, attribute = entrypoint.partition(":")
    if not file_part.endswith(".py") or not attribute:
        raise ValueError(f"entrypoint {entrypoint!r} is not of the form path/to/module.py:flow")
    candidate: object = load_flow_from_entrypoint(f"{REPO_ROOT / file_part}:{attribute}")
    if not isinstance(candidate, Flow):
        raise TypeError(f"entrypoint {entrypoint!r} is not a Prefect flow")
    return candidate


def schedules_of(spec: dict[str, Any]) -> list[Schedule]:
    """Cron schedules only: the file uses nothing else, and a silent approximation would drift."""
    schedules: list[Schedule] = []
    for entry in spec.get("schedules") or []:
        unknown = set(entry) - SCHEDULE_KEYS
        if unknown or "cron" not in entry:
            raise ValueError(
                f"deployment {spec['name']!r}: only cron schedules are served "
                f"(unsupported keys: {sorted(unknown) or 'no cron'})"
            )
        schedules.append(
            Cron(
                entry["cron"],
                timezone=entry.get("timezone"),
                day_or=entry.get("day_or", True),
                active=entry.get("active", True),
                parameters=entry.get("parameters"),
                slug=entry.get("slug"),
            )
        )
    return schedules


def concurrency_of(spec: dict[str, Any]) -> int | ConcurrencyLimitConfig | None:
    """`concurrency_limit` as `prefect deploy` reads it: a number, or limit + collision strategy."""
    value = spec.get("concurrency_limit")
    if value is None or isinstance(value, int):
        return value
    return ConcurrencyLimitConfig(
        limit=value["limit"],
        collision_strategy=ConcurrencyLimitStrategy(value.get("collision_strategy", "ENQUEUE")),
        grace_period_seconds=value.get("grace_period_seconds"),
    )


def to_deployment(spec: dict[str, Any]) -> RunnerDeployment:
    """One deployment of the file as a runner deployment of this process."""
    unknown = set(spec) - SERVED_KEYS - WORKER_ONLY_KEYS
    if unknown:
        raise ValueError(f"deployment {spec.get('name')!r}: cannot serve keys {sorted(unknown)}")
    if (spec.get("work_pool") or {}).get("job_variables"):
        # Every served run shares this process's environment: a per-deployment `env` (a shard's
        # supplier SIRETs, say) would be ignored, and the shards would all do the same work.
        raise ValueError(f"deployment {spec['name']!r}: job_variables need a worker, not serve.py")
    flow = load_flow(spec["entrypoint"])
    deployment = flow.to_deployment(
        name=spec["name"],
        schedules=schedules_of(spec),
        concurrency_limit=concurrency_of(spec),
        parameters=spec.get("parameters") or {},
        description=spec.get("description"),
        tags=spec.get("tags"),
        version=spec.get("version"),
        enforce_parameter_schema=spec.get("enforce_parameter_schema", True),
    )
    if not isinstance(deployment, RunnerDeployment):
        # `to_deployment` hands back a coroutine when called from a running event loop.
        raise TypeError("build the deployments outside any event loop")
    # Prefect derives the entrypoint from the current directory; the file's is relative to the
    # checkout, where `main` runs the flows from and where a worker's pull step takes them.
    deployment.entrypoint = spec["entrypoint"]
    return deployment


def build_deployments(path: Path = PREFECT_FILE) -> list[RunnerDeployment]:
    """Every deployment of the file, ready for `prefect.serve`; nothing is sent to the API yet."""
    return [to_deployment(spec) for spec in load_deployment_specs(path)]


def main() -> None:
    os.chdir(REPO_ROOT)
    # Stopping this process (a restart, a redeploy) must not pause the nightly schedule.
    prefect.serve(*build_deployments(), pause_on_shutdown=False)


if __name__ == "__main__":
    main()
