"""The kinds of alert the outbox holds (`alert.kind`), each with its French label and the name
of the Prefect event its delivery emits.

One type instead of open strings: a kind is written by the stage that queues the alert, read by
the sender (the digest's labels, the event names) and by dashboards, and they must agree.
Reconciliation's kinds are Chorus Pro status codes in lower case (`rejetee`…): their events keep
the English names automations were written against.
"""

from __future__ import annotations

from enum import StrEnum


class AlertKind(StrEnum):
    REJETEE = "rejetee"
    SUSPENDUE = "suspendue"
    A_RECYCLER = "a_recycler"
    DEPOSIT_REFUSED = "deposit_refused"
    NUMBER_CONFLICT = "number_conflict"
    PAYMENT_OVERDUE = "payment_overdue"
    PASSWORD_EXPIRING = "password_expiring"  # noqa: S105 - a kind, not a password
    ACCESS_REFUSED = "access_refused"
    COMPLETED = "completed"
    RECYCLED = "recycled"
    RETURN_REFUSED = "return_refused"
    STALLED_DIRECTORY = "stalled_directory"
    STALLED_DEPOSIT = "stalled_deposit"
    STALLED_FLUX = "stalled_flux"
    STALLED_ALERT = "stalled_alert"
    STALLED_RETURN = "stalled_return"
    STALLED_ARCHIVE = "stalled_archive"

    @property
    def label_fr(self) -> str:
        return _LABELS[self]

    @property
    def event(self) -> str:
        """The event name's last part: `chorus.invoice.<event>` (or `chorus.alert.<event>`)."""
        return _EVENTS.get(self, self.value.replace("_", "-"))

    @classmethod
    def of(cls, value: str) -> AlertKind | None:
        """The kind of a stored row; None for a kind this version does not know (kept as is)."""
        try:
            return cls(value.lower())
        except ValueError:
            return None

    @classmethod
    def of_status(cls, status: str) -> AlertKind:
        """The kind of an alert about a Chorus Pro status (REJETEE, SUSPENDUE, A_RECYCLER)."""
        return cls(status.lower())


_LABELS = {
    AlertKind.REJETEE: "rejetée",
    AlertKind.SUSPENDUE: "suspendue",
    AlertKind.A_RECYCLER: "à recycler",
    AlertKind.DEPOSIT_REFUSED: "dépôt refusé",
    AlertKind.NUMBER_CONFLICT: "numéro déjà utilisé",
    AlertKind.PAYMENT_OVERDUE: "paiement en retard",
    AlertKind.PASSWORD_EXPIRING: "mot de passe bientôt expiré",
    AlertKind.ACCESS_REFUSED: "accès refusé",
    AlertKind.COMPLETED: "complétée sur Chorus Pro",
    AlertKind.RECYCLED: "recyclée sur Chorus Pro",
    AlertKind.RETURN_REFUSED: "complément ou recyclage non abouti",
    AlertKind.STALLED_DIRECTORY: "attente de l'annuaire trop longue",
    AlertKind.STALLED_DEPOSIT: "dépôt en cours trop long",
    AlertKind.STALLED_FLUX: "compte rendu de flux en attente trop long",
    AlertKind.STALLED_ALERT: "alertes impossibles à envoyer",
    AlertKind.STALLED_RETURN: "réponse à une facture retournée en attente trop longue",
    AlertKind.STALLED_ARCHIVE: "archive de facture impossible à télécharger",
}
_EVENTS = {
    AlertKind.REJETEE: "rejected",
    AlertKind.SUSPENDUE: "suspended",
    AlertKind.A_RECYCLER: "to-recycle",
}
