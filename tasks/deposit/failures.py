"""What a refused or failed deposit call leaves behind, the same in PDF and Factur-X mode.

Only a lost answer differs between the modes (a PDF is looked up at once, a flux is given time to
be integrated), so each mode handles `AmbiguousOutcomeError` itself and hands every other failure
of its write calls here.
"""

from __future__ import annotations

from chorus_etl.log import get_logger
from chorus_pro.errors import (
    AuthenticationError,
    BusinessError,
    ChorusProError,
    ForbiddenError,
    TooLargeError,
)
from tasks.deposit.outcomes import DepositHalted, DepositOutcome, DepositResult
from tasks.deposit.store import DepositStore

log = get_logger(__name__)


def failed_call(
    store: DepositStore,
    invoice_id: int,
    attempt_id: int,
    exc: ChorusProError | OSError,
    outcome: DepositOutcome,
) -> DepositOutcome:
    """A business refusal is final (`deposit_failed` and its alert); refused credentials stop the
    run with the invoice `ready` again; anything else surely did not reach Chorus Pro, so the
    invoice is `ready` for the next run."""
    if isinstance(exc, BusinessError | TooLargeError):
        store.mark_refused(invoice_id, attempt_id, exc)
        outcome.result, outcome.detail = DepositResult.REFUSED, str(exc)
        log.warning("deposit.refused", invoice=outcome.invoice_number, error=str(exc))
        return outcome
    error = exc if isinstance(exc, ChorusProError) else ChorusProError(str(exc))
    store.release(invoice_id, attempt_id, error, sent=False)
    if isinstance(exc, AuthenticationError | ForbiddenError):
        raise DepositHalted(str(exc)) from exc
    outcome.result, outcome.detail = DepositResult.RETRY_LATER, str(exc)
    log.warning("deposit.retry_later", invoice=outcome.invoice_number, error=str(exc))
    return outcome
