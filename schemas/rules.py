"""The domain rules, in one place: legal payment delays, late interest, what a Chorus Pro status
means for payment.

Both the pipeline (overdue alerts, the CLI) and the dashboards' SQL views (`schemas/views.py`)
read them from here, so that an alert and a dashboard can never disagree on a figure. The views
are generated from these constants; the arithmetic below is written the way SQL evaluates it
(integers only, one rounding), and a test compares the two on generated inputs, half cents
included.

The law: the payment delay runs from the Chorus Pro deposit date, 30 days for the State, local
authorities and their public bodies, 50 for public hospitals, 60 for public companies (Code de la
commande publique, R. 2192-10 and R. 2192-11). Past it, moratorium interest accrues at the ECB
refinancing rate plus 8 points, simple interest over the days late on the amount with VAT, plus a
€40 recovery indemnity. Chorus Pro does not say which kind a buyer is: a configured map decides,
else the buyer's name, else "State" for SIRENs starting with 1 and "local" for the others (both
30 days, the strictest).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: Legal payment delay in days, per buyer kind.
DELAYS = {"state": 30, "local": 30, "hospital": 50, "public_company": 60}
BUYER_KINDS = tuple(DELAYS)
#: The fixed recovery indemnity, in cents.
INDEMNITY_CENTS = 4000
#: Late-payment interest is the ECB rate plus 8 points; rates are basis points (1 % = 100).
LATE_INTEREST_MARGIN_BP = 800
_DAYS_PER_YEAR = 365
_BP_PER_UNIT = 10_000

#: Payment reported by the buyer.
PAID = ("MISE_EN_PAIEMENT",)
#: A buyer that never reports payment (`statutMiseEnPaiementNestPasRemonte`) counts as paid at
#: the mandate.
PAID_WHEN_NOT_REPORTED = ("MANDATEE", "MISE_A_DISPOSITION_COMPTABLE", "COMPTABILISEE", *PAID)
#: Invoices that will never be paid as such: nobody chases them.
CLOSED = ("REJETEE", "ABANDONNEE", "SUPPRIMEE")
#: Returned to the supplier: the delay is suspended until the supplier acts.
PAUSED = ("SUSPENDUE", "A_RECYCLER")
REJECTED = "REJETEE"

#: Buyer names: substrings match anywhere, words only between separators.
HOSPITAL_SUBSTRINGS = ("HOSPITALI", "HOPITAL", "HÔPITAL")
HOSPITAL_WORDS = ("CHU", "CHR", "EPSM")
PUBLIC_COMPANY_SUBSTRINGS = ("OFFICE PUBLIC",)
PUBLIC_COMPANY_WORDS = ("REGIE", "RÉGIE", "EPIC", "SOCIETE")
#: SQL has no portable `\b`: these become spaces before a word is looked up between spaces.
WORD_SEPARATORS = "-'’().,/&;:\"«»!?+*[]\t\n"


def _pattern(substrings: tuple[str, ...], words: tuple[str, ...]) -> re.Pattern[str]:
    separators = re.escape(WORD_SEPARATORS + " ")
    parts = [re.escape(s) for s in substrings]
    parts += [rf"(?:^|[{separators}]){re.escape(w)}(?:$|[{separators}])" for w in words]
    return re.compile("|".join(parts), re.IGNORECASE)


_HOSPITAL = _pattern(HOSPITAL_SUBSTRINGS, HOSPITAL_WORDS)
_PUBLIC_COMPANY = _pattern(PUBLIC_COMPANY_SUBSTRINGS, PUBLIC_COMPANY_WORDS)


def buyer_kind(siret: str | None, name: str | None, overrides: Mapping[str, str]) -> str:
    """The buyer's kind for its legal delay (see the module's docstring)."""
    if siret and siret in overrides:
        return overrides[siret]
    if name and _HOSPITAL.search(name):
        return "hospital"
    if name and _PUBLIC_COMPANY.search(name):
        return "public_company"
    return "state" if siret and siret.startswith("1") else "local"


def ecb_rate_bp(ecb_rate_percent: float) -> int:
    """The configured ECB rate (a percentage) in basis points."""
    return round(ecb_rate_percent * 100)


def late_interest_rate_bp(ecb_rate_percent: float) -> int:
    return ecb_rate_bp(ecb_rate_percent) + LATE_INTEREST_MARGIN_BP


def late_interest_cents(amount_cents: int, days_late: int, rate_bp: int) -> int:
    """amount × rate × days / 365, rounded half up to the cent, in integers only.

    Written as the view computes it: (2·a·r·d + 365·10⁴) // (2·365·10⁴), so that 1,950.00 €
    365 days late at 10.15 % is 197.93 € in the alert as on the dashboard (floats rounding
    half to even said 197.92 €).
    """
    if days_late <= 0:
        return 0
    unit = _DAYS_PER_YEAR * _BP_PER_UNIT
    return (2 * amount_cents * rate_bp * days_late + unit) // (2 * unit)


#: The same arithmetic as SQL over a view's columns (`late_interest_sql("l.ttc", …)`).
def late_interest_sql(amount: str, rate_bp: str, days: str) -> str:
    unit = _DAYS_PER_YEAR * _BP_PER_UNIT
    return f"(2 * {amount} * {rate_bp} * {days} + {unit}) / {2 * unit}"
