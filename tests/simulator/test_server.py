"""The run helpers: a second thread server with its own configuration, and a separate process."""

from __future__ import annotations

import httpx
from typer.testing import CliRunner

from chorus_pro.simulator import SimulatorConfig, run_simulator_in_thread, start_simulator_process
from cli import simulator as simulator_cli
from tests.simulator.helpers import RECHERCHER, SOUMETTRE, Api, invoice_body


def test_thread_server_with_its_own_configuration() -> None:
    config = SimulatorConfig(business_errors_http=200, seed=3)
    with run_simulator_in_thread(config) as handle:
        api = Api(handle)
        try:
            assert handle.oauth_url == f"{handle.base_url}/api/oauth/token"
            response = api.post(SOUMETTRE, invoice_body("F" * 21))
            assert response.status_code == 200
            assert response.json()["codeRetour"] == 20111
            assert handle.control.config()["seed"] == 3
        finally:
            api.close()
    try:
        httpx.get(f"{handle.base_url}/cpro/transverses/v1/health-check", timeout=1.0)
    except httpx.TransportError:
        pass
    else:
        raise AssertionError("the server still answers after stop()")


def test_process_server_survives_its_clients_and_can_be_killed() -> None:
    with start_simulator_process(SimulatorConfig(seed=1)) as process:
        assert process.is_running()
        first = Api(process)
        first.submit("F-PROC-1")
        first.close()

        second = Api(process)
        try:
            assert [i["numeroFacture"] for i in second.search_all()] == ["F-PROC-1"]
            assert second.post(RECHERCHER, {}).status_code == 200
        finally:
            second.close()
        assert process.control.config()["seed"] == 1

        process.kill()
        assert not process.is_running()
    process.stop()


def test_cli_serve_help_lists_the_options() -> None:
    # The sub-app alone has a single command, so Typer runs it directly.
    result = CliRunner().invoke(simulator_cli.app, ["--help"])

    assert result.exit_code == 0
    for option in ("--port", "--seed", "--business-errors-http", "--latency-ms"):
        assert option in result.output
