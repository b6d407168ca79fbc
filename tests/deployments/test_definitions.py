"""`prefect.yaml` and `serve.py` load, agree with the flows and with each other (no server needed).

The Prefect analogue of Airflow's DagBag test: a typo in an entrypoint, a default the flow refuses,
a schedule in UTC or inside the DST hours, or a serve process that forgot a deployment would
otherwise surface only at deploy time or, worse, at 04:30.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no annotations
from prefect import Flow
from prefect.client.schemas.objects import ConcurrencyLimitStrategy
from prefect.client.schemas.schedules import CronSchedule
from prefect.flows import load_flow_from_entrypoint
from prefect.utilities.callables import parameter_schema
from prefect.utilities.schema_tools import validate
from prefect.utilities.templating import apply_values

from deployments import serve

REPO_ROOT = Path(__file__).resolve().parents[2]
PREFECT_FILE = REPO_ROOT / "deployments" / "prefect.yaml"
PARIS = ZoneInfo("Europe/Paris")

#: Parameters a run must give because the flow has no default and the deployment none either.
REQUIRED_AT_RUN_TIME = {
    "nightly": set(),
    "daily": set(),
    "backfill-deposits": {"date_from", "date_to"},
    "backfill-history": {"date_from", "date_to"},
    "reconcile-structure": set(),
    "deposit-structure": set(),
}
SCHEDULED = {"nightly", "daily"}
#: Per-structure deployments started by nightly and daily (fan-out): named after their role.
FLOW_OF = {"reconcile-structure": "reconcile", "deposit-structure": "deposit"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(PREFECT_FILE.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def specs(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {spec["name"]: spec for spec in document["deployments"]}


@pytest.fixture
def at_repo_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entrypoints are relative to the checkout, as for `prefect deploy` run from its root."""
    monkeypatch.chdir(REPO_ROOT)


def _flow(entrypoint: str) -> Flow[..., Any]:
    loaded: object = load_flow_from_entrypoint(entrypoint)
    assert isinstance(loaded, Flow), entrypoint
    return loaded


def test_the_file_declares_the_four_deployments_on_the_process_pool(
    document: dict[str, Any], specs: dict[str, dict[str, Any]]
) -> None:
    assert document["name"] == "chorus-etl"
    assert set(specs) == set(REQUIRED_AT_RUN_TIME)
    for spec in specs.values():
        assert spec["work_pool"]["name"] == "chorus-etl"
        assert spec["description"].strip()
        assert "chorus-etl" in spec["tags"]


def test_the_pull_step_moves_the_run_into_the_checkout(
    document: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The placeholder is Prefect's environment syntax, so the worker's variable fills it."""
    monkeypatch.setenv("CHORUS_ETL_REPO_DIR", str(tmp_path))
    resolved = apply_values(document["pull"], {})
    assert resolved == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(tmp_path)}}
    ]


@pytest.mark.usefixtures("at_repo_root")
def test_entrypoints_resolve_to_flows_named_like_their_deployment(
    specs: dict[str, dict[str, Any]],
) -> None:
    for name, spec in specs.items():
        assert _flow(spec["entrypoint"]).name == FLOW_OF.get(name, name)


@pytest.mark.usefixtures("at_repo_root")
def test_parameters_fit_the_flow_signatures(specs: dict[str, dict[str, Any]]) -> None:
    for name, spec in specs.items():
        flow = _flow(spec["entrypoint"])
        schema = parameter_schema(flow).model_dump()
        given = spec.get("parameters") or {}
        # What the server checks when the deployment is created (required ones may come later)...
        assert not validate(given, schema, ignore_required=True), name
        missing = set(schema.get("required", [])) - set(given)
        assert missing == REQUIRED_AT_RUN_TIME[name], name
        # ...and what a run then sends: the defaults plus the required dates, as JSON would.
        run_parameters = {**given, **{p: "2026-01-05" for p in missing}}
        assert not validate(run_parameters, schema), name
        flow.validate_parameters(run_parameters)


def test_scheduled_deployments_use_paris_cron_outside_the_dst_hours(
    specs: dict[str, dict[str, Any]],
) -> None:
    for name, spec in specs.items():
        schedules = spec.get("schedules") or []
        if name not in SCHEDULED:
            assert not schedules, f"{name} is on demand only"
            continue
        assert len(schedules) == 1, name
        (entry,) = schedules
        assert entry["timezone"] == "Europe/Paris", name
        assert entry["slug"], f"{name}: a slug lets a redeploy update the schedule in place"
        minute, hour, *rest = entry["cron"].split()
        assert rest == ["*", "*", "*"], f"{name}: every day"
        assert hour.isdigit() and minute.isdigit(), name
        assert not 1 <= int(hour) < 3, f"{name} at {hour}:{minute} falls in the DST hours"
        CronSchedule(cron=entry["cron"], timezone=entry["timezone"])


@pytest.mark.parametrize(
    "first_day",
    [datetime(2027, 3, 26, tzinfo=UTC), datetime(2026, 10, 23, tzinfo=UTC)],
    ids=["spring-forward", "fall-back"],
)
def test_scheduled_runs_keep_their_paris_time_across_dst(
    specs: dict[str, dict[str, Any]], first_day: datetime
) -> None:
    """Checked with the server's own schedule, the one its scheduler service uses."""
    # Imported here: the server package is slow to import and only this test needs it.
    from prefect.server.schemas.schedules import CronSchedule as ServerCronSchedule

    for name in SCHEDULED:
        (entry,) = specs[name]["schedules"]
        minute, hour = (int(v) for v in entry["cron"].split()[:2])
        schedule = ServerCronSchedule(cron=entry["cron"], timezone=entry["timezone"])
        dates = asyncio.run(schedule.get_dates(n=5, start=first_day))
        local = [d.astimezone(PARIS) for d in dates]
        assert [(d.hour, d.minute) for d in local] == [(hour, minute)] * 5, name
        days = [d.date() for d in local]
        assert days == [days[0] + timedelta(days=i) for i in range(5)], name


def test_nightly_never_overlaps_itself(specs: dict[str, dict[str, Any]]) -> None:
    assert specs["nightly"]["concurrency_limit"] == {
        "limit": 1,
        "collision_strategy": "CANCEL_NEW",
    }
    for spec in specs.values():
        if spec["name"] in FLOW_OF:
            # Several structures at once is the point; Chorus Pro's rate is paced per application.
            assert "concurrency_limit" not in spec, spec["name"]
            assert "fan-out" in spec["tags"]
        else:
            assert spec["concurrency_limit"]["limit"] == 1, spec["name"]


def test_serve_builds_exactly_the_deployments_of_the_file(
    specs: dict[str, dict[str, Any]],
) -> None:
    served = {d.name: d for d in serve.build_deployments()}
    assert set(served) == set(specs)
    for name, spec in specs.items():
        deployment = served[name]
        assert deployment.flow_name == FLOW_OF.get(name, name)
        assert deployment.entrypoint == spec["entrypoint"]
        assert deployment.work_pool_name is None, "serve() runs flows itself, without a pool"
        assert deployment.parameters == (spec.get("parameters") or {})
        assert deployment.tags == spec["tags"]
        assert deployment.description == spec["description"]
        assert deployment.enforce_parameter_schema is True
        expected_schedules = [
            (s["cron"], s["timezone"], s["slug"]) for s in spec.get("schedules") or []
        ]
        actual = []
        for item in deployment.schedules or []:
            assert isinstance(item.schedule, CronSchedule), name
            actual.append((item.schedule.cron, item.schedule.timezone, item.slug))
        assert actual == expected_schedules, name
        expected_limit = spec["concurrency_limit"]["limit"] if "concurrency_limit" in spec else None
        assert deployment.concurrency_limit == expected_limit, name
        if expected_limit is None:
            continue
        assert deployment.concurrency_options is not None, name
        assert deployment.concurrency_options.collision_strategy == ConcurrencyLimitStrategy(
            spec["concurrency_limit"]["collision_strategy"]
        ), name


def test_serve_refuses_what_it_cannot_translate(tmp_path: Path) -> None:
    """A key added to the file but unknown to serve.py must stop it, not be dropped."""
    document = yaml.safe_load(PREFECT_FILE.read_text(encoding="utf-8"))
    document["deployments"][0]["triggers"] = [{"type": "event", "expect": ["x"]}]
    changed = tmp_path / "prefect.yaml"
    changed.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(ValueError, match="triggers"):
        serve.build_deployments(changed)

    document = yaml.safe_load(PREFECT_FILE.read_text(encoding="utf-8"))
    document["deployments"][0]["schedules"] = [{"interval": 3600}]
    changed.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(ValueError, match="only cron"):
        serve.build_deployments(changed)

    document = yaml.safe_load(PREFECT_FILE.read_text(encoding="utf-8"))
    document["deployments"][0]["work_pool"]["job_variables"] = {
        "env": {"CHORUS_ETL_SUPPLIER_SIRETS": '["51858054300107"]'}
    }
    changed.write_text(yaml.safe_dump(document), encoding="utf-8")
    with pytest.raises(ValueError, match="job_variables"):
        serve.build_deployments(changed)
