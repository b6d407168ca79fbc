"""Every error the pipeline raises on purpose is a `PipelineError`, of the family that says
whether a later run can succeed by itself."""

from __future__ import annotations

import pytest

from chorus_etl.accounts import AccountsError
from chorus_etl.errors import NeedsAction, PipelineError, RetryLater
from chorus_etl.leases import ClaimLost
from tasks.deposit.flux import FacturxRefusal
from tasks.deposit.outcomes import DepositHalted
from tasks.facturx.conversion import GhostscriptMissing, PdfaConversionError
from tasks.ingest.extract import FileRefused
from tasks.report.data import ReportError


@pytest.mark.parametrize(
    ("error", "family"),
    [
        (AccountsError, NeedsAction),
        (DepositHalted, NeedsAction),
        (FacturxRefusal, NeedsAction),
        (ReportError, NeedsAction),
        (GhostscriptMissing, NeedsAction),
        (PdfaConversionError, NeedsAction),
        (FileRefused, NeedsAction),
        (ClaimLost, RetryLater),
    ],
)
def test_each_error_has_its_family(error: type[Exception], family: type[PipelineError]) -> None:
    assert issubclass(error, family) and issubclass(error, PipelineError)
    other = RetryLater if family is NeedsAction else NeedsAction
    assert not issubclass(error, other)
