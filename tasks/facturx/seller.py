"""The seller of a structure's Factur-X, from the settings: the cooperative's legal identity.

Chorus Pro's API gives a structure's name but no IBAN, and the XML must say where buyers pay
(BT-84), so the identity is configuration (`CHORUS_ETL_SUPPLIER_IDENTITIES`; the simulator's
seeded structures by default). The VAT number follows from the SIREN when it is not given.
"""

from __future__ import annotations

from stdnum.fr import siren

from chorus_etl.accounts import load_accounts
from chorus_etl.settings import Settings
from tasks.facturx.model import SupplierProfile


def seller_profile(supplier_siret: str, settings: Settings) -> SupplierProfile | None:
    identity = load_accounts(settings).identity(supplier_siret)
    if identity is None:
        return None
    return SupplierProfile(
        siret=supplier_siret,
        name=identity.name,
        vat_id=identity.vat_id or f"FR{siren.to_tva(supplier_siret[:9])}",
        address_line=identity.address_line,
        postcode=identity.postcode,
        city=identity.city,
        country_code=identity.country_code,
        iban=identity.iban,
    )
