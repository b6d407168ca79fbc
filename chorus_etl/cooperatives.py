"""Which cooperative a warehouse row belongs to, and where that cooperative's accounting reads.

Every invoice, entrepreneur, export and alert carries its cooperative (`cooperative` column,
migration 0005), so that one installation can serve several cooperatives and each sees only its
own rows. The owner of a row follows from its supplier structure through the accounts
(`chorus_etl.accounts.load_accounts`). A structure in no cooperative (a mistyped SIRET in an export, a structure
removed from the accounts file since) still needs an owner, or its rows would be nobody's and
show on no dashboard: it is the installation's own cooperative, `settings.cooperative_id`.
"""

from __future__ import annotations

from collections.abc import Iterable

from chorus_etl.accounts import AccountsError, load_accounts
from chorus_etl.settings import Settings

__all__ = [
    "accounting_email",
    "cooperative_names",
    "cooperative_of",
    "export_cooperative",
]


def cooperative_of(siret: str | None, settings: Settings) -> str:
    """The cooperative owning the structure; the installation's own one if none does."""
    found = load_accounts(settings).cooperative_of(siret) if siret else None
    return found or settings.cooperative_id


def export_cooperative(sirets: Iterable[str], settings: Settings) -> str:
    """The owner of an export (and of its rows whose structure is in no cooperative): the one
    cooperative its known structures belong to, else, when they span several or it names none,
    the installation's own cooperative, which runs the shared inbox."""
    owners = {load_accounts(settings).cooperative_of(siret) for siret in sirets} - {None}
    if len(owners) == 1:
        (owner,) = owners
        assert owner is not None
        return owner
    return settings.cooperative_id


def accounting_email(cooperative: str, settings: Settings) -> str:
    """Where the cooperative's accounting reads its alerts; rows of a cooperative the accounts
    no longer list go to the installation's accounting address rather than nowhere."""
    try:
        return load_accounts(settings).cooperative(cooperative).accounting_email
    except AccountsError:
        return settings.alert_accounting_email


def cooperative_names(settings: Settings) -> dict[str, str]:
    """Configured cooperatives, id to display name, in the accounts' order."""
    return {entry.id: entry.name for entry in load_accounts(settings).cooperatives}
