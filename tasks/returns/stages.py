"""The returns stage as a Prefect task: every request answered, leftovers settled first."""

from __future__ import annotations

from datetime import timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.engine import Engine

from chorus_etl.accounts import AccountsError
from chorus_etl.chorus_client import ChorusClients
from chorus_etl.cooperatives import accounting_email, cooperative_of
from chorus_etl.log import get_logger
from chorus_etl.settings import Settings
from tasks.alerts import stalls
from tasks.returns.protocol import Answerer, ReturnOutcome
from tasks.returns.store import ReturnStore

log = get_logger(__name__)

#: Answers retried at every run (Chorus Pro did not answer, the status history could not be
#: read): a bounded wait, so accounting hears of one that lasts.


def answerer(engine: Engine, settings: Settings, clients: ChorusClients) -> Answerer:
    """An answerer using each structure's own technical account, telling its cooperative."""
    return Answerer.start(
        engine,
        clients.for_structure,
        lambda siret: accounting_email(cooperative_of(siret, settings), settings),
        timedelta(minutes=settings.claim_lease_minutes),
    )


@task(name="answer-returns", cache_policy=NO_CACHE)
def answer_returns(
    engine: Engine,
    settings: Settings,
    clients: ChorusClients,
    invoice_ids: list[int] | None = None,
    sirets: list[str] | None = None,
) -> list[ReturnOutcome]:
    """Every action still to answer (of these invoices or structures, or all), oldest first:
    those whose run is gone are settled from the status history before anything is sent."""
    outcomes: list[ReturnOutcome] = []
    with answerer(engine, settings, clients) as working:
        for action_id in working.store.to_answer(invoice_ids=invoice_ids, sirets=sirets):
            try:
                outcomes.append(working.answer(action_id))
            except AccountsError as exc:
                log.error("returns.no_account", action=action_id, error=str(exc))
    cooperatives = {o.action_id: cooperative_of(o.supplier_siret, settings) for o in outcomes}
    stalls.record_waits(
        engine,
        stalls.RETURN,
        [
            stalls.Wait(
                subject=_subject(o),
                cooperative=cooperatives[o.action_id],
                label=stalls.invoice_label(o.supplier_siret, o.invoice_number, _what(o.kind)),
                error=o.detail,
            )
            for o in outcomes
            if o.result == "retry_later"
        ],
        # Anything but a retry ended its wait (done here, refused, or settled by another run).
        settled=[_subject(o) for o in outcomes if o.result != "retry_later"],
        bounds=stalls.WaitBounds.from_settings(settings),
        settings=settings,
    )
    log.info(
        "returns.answered",
        **{r: sum(1 for o in outcomes if o.result == r) for r in {o.result for o in outcomes}},
    )
    return outcomes


def _subject(outcome: ReturnOutcome) -> str:
    return f"{outcome.supplier_siret}:{outcome.invoice_number}:{outcome.action_id}"


def _what(kind: str) -> str:
    return "complément à envoyer" if kind == "complete" else "recyclage à envoyer"


__all__ = ["ReturnStore", "answer_returns", "answerer"]
