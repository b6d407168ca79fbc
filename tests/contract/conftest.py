"""Contract tests: the real client against the simulator over real HTTP on loopback.

Backoffs are real but tiny (10-50 ms); where a test checks how long the client meant to wait
(Retry-After), the sleep is a recorder instead, so no assertion depends on wall-clock time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from chorus_pro.client import ChorusProClient
from chorus_pro.config import ChorusProConfig
from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.seed import ANTIGONE, BUYER_NO_REQUIREMENT
from schemas.payloads import (
    Destinataire,
    Fournisseur,
    MontantTotal,
    PieceJointePrincipale,
    References,
    SubmitInvoiceRequest,
)

MakeClient = Callable[..., ChorusProClient]


@dataclass
class RecordedSleeps:
    """Stands in for `time.sleep`: remembers the waits, waits for nothing."""

    calls: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def make_client(simulator: SimulatorHandle) -> Iterator[MakeClient]:
    clients: list[ChorusProClient] = []

    def build(*, sleep: Callable[[float], None] | None = None, **overrides: Any) -> ChorusProClient:
        values: dict[str, Any] = {
            "api_url": simulator.base_url,
            "oauth_url": simulator.oauth_url,
            **simulator.credentials,
            "timeout": 10.0,
            "max_retries": 5,
            "backoff_base": 0.01,
            "backoff_max": 0.05,
            "trust_env": False,
        }
        values.update(overrides)
        extra: dict[str, Any] = {} if sleep is None else {"sleep": sleep}
        client = ChorusProClient(ChorusProConfig(**values), **extra)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: MakeClient) -> ChorusProClient:
    return make_client()


def pdf_bytes(label: str) -> bytes:
    return f"%PDF-1.4\n% {label}\n%%EOF\n".encode()


def pdf_invoice(
    client: ChorusProClient,
    number: str,
    *,
    siret: str = BUYER_NO_REQUIREMENT.siret,
    service: str | None = None,
    engagement: str | None = None,
    supplier_id: int = ANTIGONE.id,
) -> SubmitInvoiceRequest:
    """A DEPOT_PDF_API submission whose PDF has just been uploaded, as the deposit task does it."""
    attachment = client.upload_file(f"{number.replace('/', '_')}.pdf", pdf_bytes(number))
    return SubmitInvoiceRequest(
        modeDepot="DEPOT_PDF_API",
        numeroFactureSaisi=number,
        destinataire=Destinataire(codeDestinataire=siret, codeServiceExecutant=service),
        fournisseur=Fournisseur(
            idFournisseur=supplier_id,
            codeCoordonneesBancairesFournisseur=ANTIGONE.bank_accounts[0].id,
        ),
        references=References(modePaiement="VIREMENT", numeroBonCommande=engagement),
        montantTotal=MontantTotal.model_validate(
            {
                "montantHtTotal": "100.00",
                "montantTVA": "20.00",
                "montantTtcTotal": "120.00",
                "montantAPayer": "120.00",
            }
        ),
        pieceJointePrincipale=[
            PieceJointePrincipale(
                pieceJointePrincipaleDesignation="Facture", pieceJointePrincipaleId=attachment
            )
        ],
    )
