"""The PISTE application's limit on Prefect's server when two runs create it at the same moment."""

from __future__ import annotations

from typing import Any

import pytest
from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.exceptions import ObjectNotFound

from chorus_etl.pacing import PrefectRateLimit, gcl_name, gcl_shape


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_harness")
def test_a_limit_another_run_creates_between_the_read_and_the_create_is_taken_and_shaped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Prefect's upsert reads, then creates: another worker's run creating the limit in between
    made the create a 409 (`ObjectAlreadyExists`), which failed a structure's reconciliation
    under load (tests/deployments/test_workers.py)."""
    name = gcl_name("race")
    read = SyncPrefectClient.read_global_concurrency_limit_by_name
    reads: list[str] = []

    def lose_the_race(self: SyncPrefectClient, wanted: str) -> Any:
        reads.append(wanted)
        if len(reads) == 1:
            self.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name=wanted, limit=1, slot_decay_per_second=0.5)
            )
            raise ObjectNotFound(http_exc=LookupError(wanted))
        return read(self, wanted)

    monkeypatch.setattr(SyncPrefectClient, "read_global_concurrency_limit_by_name", lose_the_race)
    try:
        PrefectRateLimit("race", 50.0)
        monkeypatch.undo()
        with get_client(sync_client=True) as client:
            made = client.read_global_concurrency_limit_by_name(name)
        assert (made.limit, made.slot_decay_per_second) == gcl_shape(50.0)
        assert reads == [name, name]
    finally:
        monkeypatch.undo()
        with get_client(sync_client=True) as client:
            client.delete_global_concurrency_limit_by_name(name)
