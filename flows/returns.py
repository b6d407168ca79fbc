"""`returns` flow: answer the invoices buyers sent back (complete, recycle), each exactly once."""

from __future__ import annotations

from collections import Counter
from typing import Any

from prefect import flow

from chorus_etl.chorus_client import ChorusClients
from chorus_etl.log import get_logger
from chorus_etl.runs import recorded_run
from flows._environment import flow_environment
from tasks.returns import ReturnOrder, answer_returns, place_order

log = get_logger(__name__)


@flow(name="returns", log_prints=False, validate_parameters=True)
def returns(order: ReturnOrder | None = None) -> dict[str, Any]:
    """With an order (`chorus-etl complete|recycle`), checks and records it, then answers its
    invoice; without, answers every request recorded (exports, earlier commands) and settles
    those a crash or a lost answer left open."""
    with flow_environment() as (settings, engine):
        summary: dict[str, Any] = {"order": None, "outcomes": [], "counts": {}}
        with recorded_run(engine, "returns") as counts, ChorusClients(settings) as clients:
            invoice_ids = None
            if order is not None:
                api = clients.any_account() if order.kind == "recycle" else None
                placed = place_order(engine, settings, api, order)
                summary["order"] = {
                    "action_id": placed.action_id,
                    "problem": placed.problem,
                    "reasons": placed.reasons,
                }
                if placed.invoice_id is None:
                    counts.update(order_refused=1)
                    return summary
                invoice_ids = [placed.invoice_id]
            outcomes = answer_returns(engine, settings, clients, invoice_ids)
            summary["outcomes"] = [o.as_dict() for o in outcomes]
            summary["counts"] = dict(Counter(o.result for o in outcomes))
            counts.update(summary["counts"])
    return summary
