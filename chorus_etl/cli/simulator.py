"""`chorus-etl simulator …`: the local Chorus Pro stand-in (filled in by the simulator module)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Run the local Chorus Pro simulator.", no_args_is_help=True)


@app.command("serve")
def serve(port: int = typer.Option(8765, help="TCP port on 127.0.0.1.")) -> None:
    """Serve the simulator over HTTP until interrupted."""
    typer.echo("The simulator is not available yet.", err=True)
    raise typer.Exit(1)
