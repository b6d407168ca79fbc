"""`ChorusClients` over the simulator: one client and one token per PISTE application, a view per
technical account, each account seeing only its own structure."""

from __future__ import annotations

from pathlib import Path

import pytest

from chorus_etl.chorus_client import ChorusClients
from chorus_etl.config import get_settings
from chorus_pro.errors import AuthenticationError
from chorus_pro.simulator import SimulatorHandle, seed
from tests.fixtures.cooperatives import Cooperatives
from tests.flows.helpers import configure

SIRETS = [seed.ANTIGONE_SIRET, seed.RHIZOME_SIRET, seed.ESTUAIRE_SIRET]


@pytest.fixture
def coops(
    simulator: SimulatorHandle, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Cooperatives:
    found = Cooperatives(SIRETS)
    configure(monkeypatch, sqlite_url, simulator)
    found.install(simulator, monkeypatch, tmp_path)
    return found


def test_one_token_per_application_and_one_view_per_account(
    coops: Cooperatives, simulator: SimulatorHandle
) -> None:
    with ChorusClients(get_settings()) as clients:
        seen = {
            siret: [s.identifiant for s in clients.for_structure(siret).supplier_structures()]
            for siret in SIRETS
        }
        assert seen == {siret: [siret] for siret in SIRETS}, "each account sees its own only"
        assert clients.for_structure(SIRETS[0]) is clients.for_structure(SIRETS[0])
        assert clients.token_fetches() == {"cooproduction": 1, "loire-ocean": 1}
    stats = simulator.control.stats()["by_client"]
    assert {app: stats[coops.client_id(app)]["token_requests"] for app in coops.apps()} == {
        "cooproduction": 1,
        "loire-ocean": 1,
    }


def test_a_refused_account_does_not_spoil_its_applications_other_accounts(
    coops: Cooperatives, simulator: SimulatorHandle
) -> None:
    simulator.control.set_config(technical_accounts=coops.technical_accounts(revoked=SIRETS[1]))
    with ChorusClients(get_settings()) as clients:
        with pytest.raises(AuthenticationError) as refused:
            clients.for_structure(SIRETS[1]).supplier_structures()
        assert refused.value.technical_account_refused
        assert coops.structure(SIRETS[1]).password not in str(refused.value)
        found = clients.for_structure(SIRETS[0]).supplier_structures()
        assert [s.identifiant for s in found] == [SIRETS[0]]
