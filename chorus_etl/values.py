"""Value types of the configuration that several layers share: how a structure deposits, and
who it is as a seller. Kept apart from the settings and the accounts so that neither has to
import the other to name them."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


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
