"""`chorus-etl simulator …`: the local Chorus Pro stand-in (see docs/simulator.md)."""

from __future__ import annotations

from datetime import datetime

import typer

from chorus_pro.simulator.config import SimulatorConfig

app = typer.Typer(help="Run the local Chorus Pro simulator.", no_args_is_help=True)


@app.command("serve")
def serve(
    port: int = typer.Option(8765, help="TCP port."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind (loopback by default)."),
    seed: int = typer.Option(0, help="Seeds invoice lifecycles and fault draws."),
    business_errors_http: int = typer.Option(
        400, help="HTTP status of functional errors (codeRetour != 0): 200 or 400."
    ),
    latency_ms: int = typer.Option(0, min=0, help="Fixed delay added to every request."),
    clock_start: datetime | None = typer.Option(
        None, help="Simulated start (date or date-time, Europe/Paris); default: now."
    ),
    log_level: str = typer.Option("info", help="uvicorn log level."),
) -> None:
    """Serve the simulator over HTTP until interrupted (Ctrl+C)."""
    if business_errors_http not in (200, 400):
        raise typer.BadParameter("must be 200 or 400", param_hint="--business-errors-http")
    config = SimulatorConfig.model_validate(
        {
            "seed": seed,
            "business_errors_http": business_errors_http,
            "latency_ms": latency_ms,
            "clock_start": clock_start,
        }
    )
    base_url = f"http://{host}:{port}"
    typer.echo(
        f"Chorus Pro simulator on {base_url}\n"
        f"  API base URL : {base_url}\n"
        f"  OAuth token  : {base_url}/api/oauth/token\n"
        f"  control      : {base_url}/_sim/  (reset, store, config, faults, clock, stats)\n"
        f"  client_id    : {config.client_id}\n"
        f"  client_secret: {config.client_secret}\n"
        f"  login        : {config.login}\n"
        f"  password     : {config.password}\n"
        "These are the simulator's public defaults; the pipeline's `simulator` environment "
        "uses them without configuration."
    )
    # Imported here: the server (uvicorn, the simulator's Factur-X reader) is half a second of
    # every other command's start.
    from chorus_pro.simulator.server import serve as serve_simulator

    serve_simulator(config, host=host, port=port, log_level=log_level)
