"""Every alert the pipeline queues is of a known kind, with a French label and an event name."""

from __future__ import annotations

import pytest

from schemas.alerts import AlertKind
from tasks.alerts import stalls
from tasks.alerts.sender import PendingAlert, event_name


@pytest.mark.parametrize("stall", list(stalls.KINDS.values()), ids=lambda k: k.key)
def test_every_bounded_wait_alerts_with_a_known_kind(stall: stalls.StallKind) -> None:
    kind = AlertKind.of(stall.alert_kind)
    assert kind is not None and kind.label_fr


def test_status_alerts_keep_their_english_event_names() -> None:
    def pending(kind: str) -> PendingAlert:
        return PendingAlert(1, "k", kind, "coop", "accounting", "a@b.c", "s", "b", "F-1", "1")

    assert event_name(pending(AlertKind.of_status("REJETEE"))) == "chorus.invoice.rejected"
    assert event_name(pending("A_RECYCLER")) == "chorus.invoice.to-recycle"
    assert event_name(pending("number_conflict")) == "chorus.invoice.number-conflict"
    assert event_name(pending("something_new")) == "chorus.invoice.something-new"
    assert all(kind.label_fr for kind in AlertKind)
