"""The structures the simulator knows, as plain constants that tests and demos can import.

Suppliers are structures of two cooperatives with one service per entrepreneur: the Cooproduction
group around Strasbourg (Antigone and Artenréel, the structures the default technical account is
attached to, plus Rhizome and Passerelle) and the fictional Loire Océan group around Nantes
(Estuaire and Mascaret), so that tests can give each structure its own technical account. Buyers cover
every combination of the recipient parameters Chorus Pro enforces (service required, engagement
required, both, either, none), each kind of public body the pipeline treats differently for
payment delays, and the odd cases (inactive buyer, inactive and `FACTURES_PUBLIQUES` services,
a service that demands an engagement, a buyer that never reports payment). Buyer SIRETs pass the
Luhn check; apart from the Mairie de Schiltigheim the buyers are fictitious, and so are the four
suppliers added for the multi-account tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

__all__ = [
    "ALL_SUPPLIERS",
    "ANTIGONE",
    "ANTIGONE_SIRET",
    "ARTENREEL",
    "ARTENREEL_SIRET",
    "BUYERS",
    "BUYER_BOTH_REQUIRED",
    "BUYER_ENGAGEMENT_REQUIRED",
    "BUYER_HOSPITAL",
    "BUYER_INACTIVE",
    "BUYER_NO_PAYMENT_STATUS",
    "BUYER_NO_REQUIREMENT",
    "BUYER_PUBLIC_COMPANY",
    "BUYER_SERVICE_OR_ENGAGEMENT",
    "BUYER_STATE",
    "COOPRODUCTION_SUPPLIERS",
    "ESTUAIRE",
    "ESTUAIRE_SIRET",
    "FACTURES_PUBLIQUES",
    "LOIRE_OCEAN_SUPPLIERS",
    "MASCARET",
    "MASCARET_SIRET",
    "PASSERELLE",
    "PASSERELLE_SIRET",
    "RHIZOME",
    "RHIZOME_SIRET",
    "SCHILTIGHEIM",
    "SUPPLIERS",
    "VAT_RATES",
    "Address",
    "BankAccount",
    "Buyer",
    "BuyerFlags",
    "BuyerKind",
    "Service",
    "Supplier",
    "VatRate",
    "active_service_codes",
    "all_structures",
    "all_suppliers",
    "buyer_by_siret",
    "register_suppliers",
    "service_codes",
    "structure_by_id",
    "supplier_by_id",
    "supplier_by_siret",
]

#: Kind of public body; decides the legal payment delay (30 / 50 / 60 days) in the pipeline.
BuyerKind = Literal["local", "state", "hospital", "public_company"]

#: Service reserved for invoicing between public bodies; Chorus rejects supplier invoices sent to it.
FACTURES_PUBLIQUES = "FACTURES_PUBLIQUES"

_SERVICES_OPENED = date(2019, 1, 1)


@dataclass(frozen=True)
class Address:
    street: str
    postal_code: str
    city: str
    country: str = "FR"


@dataclass(frozen=True)
class Service:
    id: int
    code: str
    label: str
    active: bool = True
    engagement_required: bool = False
    opened_on: date = _SERVICES_OPENED
    closed_on: date | None = None


@dataclass(frozen=True)
class BankAccount:
    id: int
    name: str
    iban: str


@dataclass(frozen=True)
class Supplier:
    id: int
    siret: str
    name: str
    address: Address
    bank_accounts: tuple[BankAccount, ...]
    services: tuple[Service, ...]
    active: bool = True

    def service_by_id(self, service_id: int) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)

    def service_by_code(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)


@dataclass(frozen=True)
class BuyerFlags:
    """The recipient parameters of `consulterStructure`, under their API names' meaning."""

    service_required: bool = False  # codeServiceDoitEtreRenseigne
    engagement_required: bool = False  # numeroEJDoitEtreRenseigne
    service_or_engagement: bool = False  # gestionNumeroEJOuCodeService
    payment_status_not_reported: bool = False  # statutMiseEnPaiementNestPasRemonte


@dataclass(frozen=True)
class Buyer:
    id: int
    siret: str
    name: str
    kind: BuyerKind
    address: Address
    flags: BuyerFlags = field(default_factory=BuyerFlags)
    services: tuple[Service, ...] = ()
    active: bool = True

    def service_by_code(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def service_by_id(self, service_id: int) -> Service | None:
        return next((s for s in self.services if s.id == service_id), None)


@dataclass(frozen=True)
class VatRate:
    code: str
    label: str
    value: float


_STRASBOURG = Address("1 rue de la Coopération", "67000", "Strasbourg")

ANTIGONE_SIRET = "51858054300107"
ARTENREEL_SIRET = "47840796800054"
RHIZOME_SIRET = "52601815500014"
PASSERELLE_SIRET = "70830166800016"
ESTUAIRE_SIRET = "33186091600013"
MASCARET_SIRET = "49099603000014"

ANTIGONE = Supplier(
    id=26300101,
    siret=ANTIGONE_SIRET,
    name="ANTIGONE",
    address=_STRASBOURG,
    bank_accounts=(BankAccount(144050, "Compte courant Antigone", "FR7642559100000812345678901"),),
    services=(
        Service(10650001, "ANT-E001", "Camille Martin"),
        Service(10650002, "ANT-E002", "Lucas Bernard"),
        Service(10650003, "ANT-E003", "Léa Dubois"),
        Service(10650004, "ANT-E004", "Hugo Thomas"),
        Service(10650005, "ANT-E005", "Chloé Robert"),
        Service(10650006, "ANT-E006", "Louis Richard"),
        Service(10650007, "ANT-E007", "Manon Petit"),
        Service(10650008, "ANT-E008", "Gabriel Durand"),
        Service(10650009, "ANT-E009", "Inès Leroy"),
        Service(10650010, "ANT-E010", "Arthur Moreau"),
        Service(10650011, "ANT-E011", "Jade Simon"),
        Service(10650012, "ANT-E012", "Jules Laurent"),
        Service(
            10650099,
            "ANT-E099",
            "Paul Lefebvre (sorti)",
            active=False,
            closed_on=date(2024, 6, 30),
        ),
    ),
)

ARTENREEL = Supplier(
    id=26300102,
    siret=ARTENREEL_SIRET,
    name="ARTENREEL",
    address=_STRASBOURG,
    bank_accounts=(BankAccount(144051, "Compte courant Artenréel", "FR0242559100000898765432102"),),
    services=(
        Service(10651001, "ART-E001", "Sophie Muller"),
        Service(10651002, "ART-E002", "Nicolas Schmitt"),
        Service(10651003, "ART-E003", "Julie Meyer"),
        Service(10651004, "ART-E004", "Thomas Weber"),
        Service(10651005, "ART-E005", "Claire Klein"),
        Service(10651006, "ART-E006", "Antoine Wolff"),
        Service(10651007, "ART-E007", "Élise Fischer"),
        Service(10651008, "ART-E008", "Mathieu Keller"),
        Service(
            10651099,
            "ART-E099",
            "Marc Roth (sortie)",
            active=False,
            closed_on=date(2023, 12, 31),
        ),
    ),
)

RHIZOME = Supplier(
    id=26300103,
    siret=RHIZOME_SIRET,
    name="RHIZOME",
    address=Address("4 rue du Travail", "67400", "Illkirch-Graffenstaden"),
    bank_accounts=(BankAccount(144052, "Compte courant Rhizome", "FR7642559100000823456789020"),),
    services=(
        Service(10652001, "RHZ-E001", "Margaux Heitz"),
        Service(10652002, "RHZ-E002", "Bastien Ehrhart"),
        Service(10652003, "RHZ-E003", "Océane Grasser"),
    ),
)

PASSERELLE = Supplier(
    id=26300104,
    siret=PASSERELLE_SIRET,
    name="PASSERELLE",
    address=Address("9 route du Polygone", "67100", "Strasbourg"),
    bank_accounts=(
        BankAccount(144053, "Compte courant Passerelle", "FR7642559100000834567890118"),
    ),
    services=(
        Service(10653001, "PAS-E001", "Romain Adam"),
        Service(10653002, "PAS-E002", "Pauline Jung"),
    ),
)

ESTUAIRE = Supplier(
    id=26300105,
    siret=ESTUAIRE_SIRET,
    name="ESTUAIRE",
    address=Address("3 quai de la Fosse", "44000", "Nantes"),
    bank_accounts=(BankAccount(144054, "Compte courant Estuaire", "FR7642559440000845678901226"),),
    services=(
        Service(10654001, "EST-E001", "Gwenaëlle Le Goff"),
        Service(10654002, "EST-E002", "Yann Guérin"),
        Service(10654003, "EST-E003", "Maëlle Jaouen"),
    ),
)

MASCARET = Supplier(
    id=26300106,
    siret=MASCARET_SIRET,
    name="MASCARET",
    address=Address("12 rue des Chantiers", "44400", "Rezé"),
    bank_accounts=(BankAccount(144055, "Compte courant Mascaret", "FR7642559440000856789012342"),),
    services=(
        Service(10655001, "MAS-E001", "Erwan Le Floch"),
        Service(10655002, "MAS-E002", "Solenn Tanguy"),
    ),
)

#: The structures the default technical account is attached to (the pipeline's own pair).
SUPPLIERS: tuple[Supplier, ...] = (ANTIGONE, ARTENREEL)
#: The Cooproduction group, Strasbourg area.
COOPRODUCTION_SUPPLIERS: tuple[Supplier, ...] = (ANTIGONE, ARTENREEL, RHIZOME, PASSERELLE)
#: A second, fictional cooperative around Nantes.
LOIRE_OCEAN_SUPPLIERS: tuple[Supplier, ...] = (ESTUAIRE, MASCARET)
#: Every supplier structure Chorus knows: what the lookups and the directory search answer for.
ALL_SUPPLIERS: tuple[Supplier, ...] = (*COOPRODUCTION_SUPPLIERS, *LOIRE_OCEAN_SUPPLIERS)

BUYER_NO_REQUIREMENT = Buyer(
    id=26310001,
    siret="21679001400015",
    name="COMMUNE DE SIMULBOURG",
    kind="local",
    address=Address("2 place de la Mairie", "67990", "Simulbourg"),
    services=(
        Service(10660001, "MAIRIE", "Services généraux"),
        Service(10660002, FACTURES_PUBLIQUES, "Factures entre entités publiques"),
    ),
)

SCHILTIGHEIM = Buyer(
    id=26310002,
    siret="21670447800017",
    name="MAIRIE DE SCHILTIGHEIM",
    kind="local",
    address=Address("110 route de Bischwiller", "67300", "Schiltigheim"),
    flags=BuyerFlags(service_required=True),
    services=(
        Service(10660101, "28E", "Service Enfance Jeunesse / Maison du jeune citoyen"),
        Service(10660102, "12C", "Service Culture"),
        Service(10660103, "31S", "Service des Sports", engagement_required=True),
        Service(10660104, "07A", "Archives (fermé)", active=False, closed_on=date(2022, 12, 31)),
        Service(10660105, FACTURES_PUBLIQUES, "Factures entre entités publiques"),
    ),
)

BUYER_ENGAGEMENT_REQUIRED = Buyer(
    id=26310003,
    siret="21679002200018",
    name="SYNDICAT INTERCOMMUNAL DES EAUX DE SIMULVILLE",
    kind="local",
    address=Address("5 rue des Sources", "67991", "Simulville"),
    flags=BuyerFlags(engagement_required=True),
    services=(Service(10660201, "EXPLOITATION", "Exploitation du réseau"),),
)

BUYER_BOTH_REQUIRED = Buyer(
    id=26310004,
    siret="24679005900017",
    name="COMMUNAUTE DE COMMUNES DU RIED SIMULE",
    kind="local",
    address=Address("12 rue du Ried", "67992", "Simulwiller"),
    flags=BuyerFlags(service_required=True, engagement_required=True),
    services=(
        Service(10660301, "DST", "Direction des services techniques"),
        Service(10660302, "CULTURE", "Direction de la culture"),
        Service(10660303, "DRH", "Ressources humaines (fermé)", active=False),
    ),
)

BUYER_SERVICE_OR_ENGAGEMENT = Buyer(
    id=26310005,
    siret="21679009700010",
    name="COMMUNE DE SIMULHEIM",
    kind="local",
    address=Address("1 rue de l'Église", "67993", "Simulheim"),
    flags=BuyerFlags(service_or_engagement=True),
    services=(
        Service(10660401, "ECOLES", "Service des écoles"),
        Service(10660402, "VOIRIE", "Service de la voirie"),
    ),
)

BUYER_HOSPITAL = Buyer(
    id=26310006,
    siret="26679006200019",
    name="CENTRE HOSPITALIER DE SIMULVILLE",
    kind="hospital",
    address=Address("30 avenue de l'Hôpital", "67991", "Simulville"),
    services=(
        Service(10660501, "ACHATS", "Direction des achats"),
        Service(10660502, "PHARMACIE", "Pharmacie centrale", engagement_required=True),
        Service(10660503, "BLANCHISSERIE", "Blanchisserie (fermée)", active=False),
        Service(10660504, FACTURES_PUBLIQUES, "Factures entre entités publiques"),
    ),
)

BUYER_STATE = Buyer(
    id=26310007,
    siret="11000907300013",
    name="DIRECTION REGIONALE SIMULEE DES AFFAIRES CULTURELLES",
    kind="state",
    address=Address("2 place de la République", "67000", "Strasbourg"),
    flags=BuyerFlags(service_required=True),
    services=(
        Service(10660601, "SFACETAT", "Service facturier de l'État"),
        Service(10660602, "DRAC-PATRIMOINE", "Pôle patrimoine", engagement_required=True),
    ),
)

BUYER_PUBLIC_COMPANY = Buyer(
    id=26310008,
    siret="20009004100019",
    name="REGIE SIMULEE DES TRANSPORTS DE L'ILL",
    kind="public_company",
    address=Address("8 quai des Bateliers", "67000", "Strasbourg"),
    services=(Service(10660701, "ACHATS", "Service achats"),),
)

BUYER_INACTIVE = Buyer(
    id=26310009,
    siret="21679011300015",
    name="SYNDICAT MIXTE DISSOUS DE SIMULVILLE",
    kind="local",
    address=Address("5 rue des Sources", "67991", "Simulville"),
    services=(Service(10660801, "ADMIN", "Administration", active=False),),
    active=False,
)

BUYER_NO_PAYMENT_STATUS = Buyer(
    id=26310010,
    siret="19679010900017",
    name="LYCEE SIMULE JEAN-STURM",
    kind="local",
    address=Address("1 rue du Lycée", "67000", "Strasbourg"),
    flags=BuyerFlags(payment_status_not_reported=True),
    services=(Service(10660901, "INTENDANCE", "Intendance"),),
)

BUYERS: tuple[Buyer, ...] = (
    BUYER_NO_REQUIREMENT,
    SCHILTIGHEIM,
    BUYER_ENGAGEMENT_REQUIRED,
    BUYER_BOTH_REQUIRED,
    BUYER_SERVICE_OR_ENGAGEMENT,
    BUYER_HOSPITAL,
    BUYER_STATE,
    BUYER_PUBLIC_COMPANY,
    BUYER_INACTIVE,
    BUYER_NO_PAYMENT_STATUS,
)

#: `recuperer/tauxtva`; codes are the simulator's choice (the real list was not available).
VAT_RATES: tuple[VatRate, ...] = (
    VatRate("TVA0", "TVA 0 %", 0.0),
    VatRate("TVA2", "TVA 2,1 %", 2.1),
    VatRate("TVA5", "TVA 5,5 %", 5.5),
    VatRate("TVA10", "TVA 10 %", 10.0),
    VatRate("TVA20", "TVA 20 %", 20.0),
)

_SUPPLIERS_BY_SIRET = {s.siret: s for s in ALL_SUPPLIERS}
_SUPPLIERS_BY_ID = {s.id: s for s in ALL_SUPPLIERS}
_BUYERS_BY_SIRET = {b.siret: b for b in BUYERS}
_STRUCTURES_BY_ID: dict[int, Supplier | Buyer] = {
    **{s.id: s for s in ALL_SUPPLIERS},
    **{b.id: b for b in BUYERS},
}


def supplier_by_siret(siret: str) -> Supplier | None:
    return _SUPPLIERS_BY_SIRET.get(siret)


def supplier_by_id(structure_id: int) -> Supplier | None:
    return _SUPPLIERS_BY_ID.get(structure_id)


def buyer_by_siret(siret: str) -> Buyer | None:
    return _BUYERS_BY_SIRET.get(siret)


def structure_by_id(structure_id: int) -> Supplier | Buyer | None:
    return _STRUCTURES_BY_ID.get(structure_id)


_REGISTERED: list[Supplier] = []


def register_suppliers(extra: Iterable[Supplier]) -> None:
    """Adds supplier structures beyond the seed, for benchmarks of many structures.

    Process-wide and for good: only a process that runs the simulator in-process for a load
    test should call it (`bench/reconcile.py --structures`), never the tests.
    """
    for supplier in extra:
        if supplier.siret in _SUPPLIERS_BY_SIRET or supplier.id in _STRUCTURES_BY_ID:
            raise ValueError(f"supplier {supplier.siret} ({supplier.id}) is already known")
        _REGISTERED.append(supplier)
        _SUPPLIERS_BY_SIRET[supplier.siret] = supplier
        _SUPPLIERS_BY_ID[supplier.id] = supplier
        _STRUCTURES_BY_ID[supplier.id] = supplier


def all_suppliers() -> tuple[Supplier, ...]:
    """The seeded supplier structures and any registered since."""
    return (*ALL_SUPPLIERS, *_REGISTERED)


def all_structures() -> tuple[Supplier | Buyer, ...]:
    return (*all_suppliers(), *BUYERS)


def service_codes(siret: str) -> list[str]:
    """Every service code of the structure with this SIRET, active or not; [] if unknown."""
    structure = supplier_by_siret(siret) or buyer_by_siret(siret)
    return [s.code for s in structure.services] if structure else []


def active_service_codes(siret: str) -> list[str]:
    """Codes of the structure's active services, in seed order; [] if the SIRET is unknown."""
    structure = supplier_by_siret(siret) or buyer_by_siret(siret)
    return [s.code for s in structure.services if s.active] if structure else []
