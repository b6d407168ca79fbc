"""What a search by number settles, the same in PDF and Factur-X mode.

Both modes end an uncertain attempt the same way once Chorus Pro has been searched: our invoice
found there is `deposited` (with who put it there), another invoice under the number puts ours in
`conflict`; only what to do when nothing is found differs (a PDF is sent again at once, a flux is
given time to be integrated), so that stays with each mode.
"""

from __future__ import annotations

from chorus_etl.log import get_logger
from schemas.warehouse import AttemptOutcome, Invoice
from tasks.deposit.matching import Identified, origin_of
from tasks.deposit.outcomes import DepositOutcome, DepositResult, landed
from tasks.deposit.store import DepositStore

log = get_logger(__name__)


def record_found(
    store: DepositStore,
    invoice: Invoice,
    attempt_id: int,
    found: Identified,
    outcome: DepositOutcome,
    *,
    may_have_sent: bool,
    ours_sent_it: bool = False,
) -> DepositOutcome | None:
    """Settles the attempt this run holds from what the search found; None if it found nothing.

    `ours_sent_it`: the attempt's own deposit is what landed (a flux followed to its end), not
    an earlier one found again."""
    assert invoice.id is not None
    if found.ours is not None:
        sent = may_have_sent or store.may_have_sent(invoice.id, besides=attempt_id)
        store.mark_deposited(
            invoice.id,
            attempt_id,
            found.ours.identifiantFactureCPP,
            found.ours.dateDepot,
            None,
            found.ours.statut,
            AttemptOutcome.DEPOSITED if ours_sent_it else AttemptOutcome.FOUND_EXISTING,
            origin_of(found.ours, may_have_sent=sent),
        )
        result = DepositResult.DEPOSITED if ours_sent_it else DepositResult.FOUND_EXISTING
        return landed(outcome, result, found.ours.identifiantFactureCPP)
    if found.other is not None:
        store.mark_conflict(invoice.id, attempt_id, found.other, found.differences)
        outcome.result = DepositResult.CONFLICT
        outcome.detail = (
            f"number taken on Chorus Pro by invoice {found.other.identifiantFactureCPP}"
        )
        log.warning(
            "deposit.conflict",
            invoice=invoice.invoice_number,
            chorus_invoice_id=found.other.identifiantFactureCPP,
            differences=[d.field for d in found.differences],
        )
        return outcome
    return None
