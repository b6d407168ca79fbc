"""What happened to one invoice's deposit, as the flows count it and the CLI prints it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from chorus_etl.accounts import AccountsError
from chorus_etl.errors import NeedsAction
from chorus_etl.log import get_logger
from chorus_pro.errors import AuthenticationError, ForbiddenError

log = get_logger(__name__)


class DepositResult(StrEnum):
    DEPOSITED = "deposited"
    FOUND_EXISTING = "found_existing"
    REFUSED = "refused"
    SKIPPED = "skipped"
    RETRY_LATER = "retry_later"
    DRY_RUN = "dry_run"
    #: A Factur-X flux sent (or whose answer was lost) whose report is not final yet.
    AWAITING = "awaiting_report"
    #: Chorus Pro holds another invoice under the number; accounting decides.
    CONFLICT = "conflict"


@dataclass
class DepositOutcome:
    invoice_id: int
    supplier_siret: str
    invoice_number: str
    result: DepositResult
    chorus_invoice_id: int | None = None
    detail: str | None = None
    retries: int = 0
    payload: dict[str, Any] | None = None
    flux_number: str | None = None
    #: Looked up and not on Chorus Pro: the invoice is `ready` again and may be sent.
    absent: bool = False

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "invoice_id": self.invoice_id,
            "supplier_siret": self.supplier_siret,
            "invoice_number": self.invoice_number,
            "result": self.result.value,
            "chorus_invoice_id": self.chorus_invoice_id,
            "detail": self.detail,
            "retries": self.retries,
        }
        if self.flux_number is not None:
            data["flux_number"] = self.flux_number
        if self.payload is not None:
            data["payload"] = self.payload
        return data


class DepositHalted(NeedsAction):
    """Credentials or subscriptions are wrong: every further call would fail the same way."""


#: Refusals no retry can fix and that concern one account only: refused credentials, a missing
#: API subscription, a secret nobody configured. A run stops that account's structures on them.
ACCESS_REFUSALS: tuple[type[Exception], ...] = (
    DepositHalted,
    AuthenticationError,
    ForbiddenError,
    AccountsError,
)


def landed(outcome: DepositOutcome, result: DepositResult, chorus_id: int) -> DepositOutcome:
    """The outcome of an invoice now on Chorus Pro (deposited here, or found there), logged."""
    outcome.result, outcome.chorus_invoice_id = result, chorus_id
    log.info(f"deposit.{result.value}", invoice=outcome.invoice_number, chorus_invoice_id=chorus_id)
    return outcome
