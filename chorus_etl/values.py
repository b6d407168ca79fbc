"""Value types of the configuration that several layers share: how a structure deposits, and
who it is as a seller. Kept apart from the settings and the accounts so that neither has to
import the other to name them."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DepositMode(StrEnum):
    """How a supplier structure's invoices go to Chorus Pro (see docs/design.md, the two modes)."""

    #: The PDF uploaded, then `soumettre` in mode DEPOT_PDF_API: Chorus Pro reads the PDF (OCR).
    PDF = "pdf"
    #: The PDF made Factur-X (PDF/A-3 carrying an EN 16931 CII XML), deposited with `deposer/flux`.
    FACTURX = "facturx"


class SupplierIdentity(BaseModel):
    """The seller of a Factur-X (EN 16931 BG-4): what the XML says about the cooperative."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    address_line: str = Field(min_length=1)
    postcode: str = Field(min_length=1)
    city: str = Field(min_length=1)
    country_code: str = Field(default="FR", min_length=2, max_length=2)
    vat_id: str | None = Field(
        default=None, description="Intra-community VAT number; derived from the SIREN if unset."
    )
    iban: str | None = Field(default=None, description="Where buyers pay (BT-84).")


# ==== Factur-X under France's 2026 rules (issue 21) ===========================================
# Per structure (SIRET) and per cooperative: what a Factur-X says beyond the warehouse's rows.
# Read through `Settings.facturx_structure` / `Settings.terms_of`.

#: BT-23 values a structure may choose: those of the French rules (BR-FR-08) that an invoice of
#: the export can carry without more data (goods, services, mixed; B2G subcontracting S3;
#: co-contracting S6), and A1, the "cadre de facturation" Chorus Pro's direct API has always taken.
BILLING_FRAMES = ("S1", "B1", "M1", "S3", "S6", "A1")


class FacturxStructure(BaseModel):
    """How one supplier structure writes its Factur-X where the rules leave a choice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    billing_frame: str = Field(
        default="S1",
        description="BT-23: S1 (services, the French rules' value) by default; A1 is Chorus Pro's "
        "historical code, which the French CTC Schematron refuses (BR-FR-08).",
    )
    routing_scheme: Literal["0224", "0240"] | None = Field(
        default=None,
        description="Also write the service code as a second buyer identifier (BT-46) with this "
        "scheme (BR-FR-CPRO-11/13); unset, it is only in BT-10, where Chorus Pro's direct API "
        "reads it (EN 16931 allows one BT-46, the buyer's SIRET).",
    )
    vat_on_debits: bool = Field(
        default=False,
        description="BT-8: VAT due on debits (code 5) when the structure opted for it; else on "
        "receipt (code 72), the rule for services.",
    )

    @model_validator(mode="after")
    def _frame_is_known(self) -> FacturxStructure:
        if self.billing_frame == "S5":
            raise ValueError(
                "billing_frame S5 (subcontractor) is forbidden towards public buyers "
                "(BR-FR-CPRO-24): use S3"
            )
        if self.billing_frame not in BILLING_FRAMES:
            raise ValueError(
                f"billing_frame {self.billing_frame!r} is not one of {', '.join(BILLING_FRAMES)}"
            )
        return self


class CooperativeTerms(BaseModel):
    """The payment terms French law requires on every invoice (notes PMT, PMD, AAB, BR-FR-05)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recovery_fee_cents: int = Field(
        default=4000,
        ge=4000,
        description="Fixed indemnity for recovery costs owed on late payment: 40 € at least "
        "(code de commerce D441-5; code de la commande publique D2192-35).",
    )
    late_penalties: str = Field(
        default="En cas de retard de paiement, des intérêts moratoires sont dus au taux "
        "d'intérêt de la principale facilité de refinancement de la Banque centrale européenne "
        "majoré de huit points (code de la commande publique, art. L2192-13 et R2192-31).",
        min_length=1,
        max_length=900,
        description="Note PMD: the late-payment penalties (public buyers: the legal moratorium rate).",
    )
    discount: str = Field(
        default="Pas d'escompte pour paiement anticipé.",
        min_length=1,
        max_length=1024,
        description="Note AAB: the early-payment discount, or that there is none.",
    )


# ==== end of the Factur-X block ===============================================================
