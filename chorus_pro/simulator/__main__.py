"""`python -m chorus_pro.simulator`: the simulator as its own process (used by
`start_simulator_process`). `chorus-etl simulator serve` is the friendlier front door."""

from __future__ import annotations

import argparse
import json

from chorus_pro.simulator.config import SimulatorConfig
from chorus_pro.simulator.server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m chorus_pro.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--business-errors-http", type=int, choices=(200, 400), default=None)
    parser.add_argument("--latency-ms", type=int, default=None)
    parser.add_argument("--config-json", default=None, help="A full SimulatorConfig as JSON.")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)

    values = json.loads(args.config_json) if args.config_json else {}
    for key, value in (
        ("seed", args.seed),
        ("business_errors_http", args.business_errors_http),
        ("latency_ms", args.latency_ms),
    ):
        if value is not None:
            values[key] = value
    serve(
        SimulatorConfig.model_validate(values),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
    )


if __name__ == "__main__":
    main()
