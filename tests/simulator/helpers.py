"""Raw HTTP helpers for the simulator tests: plain httpx, nothing from the project's client.

Keeping the client out means a misunderstanding shared by client and simulator cannot make both
agree on something Chorus Pro would refuse.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from chorus_pro.simulator import SimulatorHandle
from chorus_pro.simulator.seed import ANTIGONE, BUYER_NO_REQUIREMENT, Supplier

TOKEN_PATH = "/api/oauth/token"
SOUMETTRE = "/cpro/factures/v1/soumettre"
RECHERCHER = "/cpro/factures/v1/rechercher/fournisseur"
CONSULTER = "/cpro/factures/v1/consulter/fournisseur"
HISTORIQUE = "/cpro/factures/v1/consulter/historique"
COMPLETER = "/cpro/factures/v1/completer"
RECYCLER = "/cpro/factures/v1/recycler"
TRAITER_REJET = "/cpro/factures/v1/traiterRejet"
DEPOSER_FLUX = "/cpro/factures/v1/deposer/flux"
AJOUTER_FICHIER = "/cpro/transverses/v1/ajouter/fichier"
CONSULTER_CR = "/cpro/transverses/v1/consulterCR"
CONSULTER_CR_DETAILLE = "/cpro/transverses/v1/consulterCRDetaille"
JSON_TYPE = "application/json;charset=utf-8"


def account_header(login: str, password: str) -> str:
    return base64.b64encode(f"{login}:{password}".encode()).decode("ascii")


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")


class Api:
    """One "client": its own connection pool and token, like a process of the pipeline.

    It uses the simulator's default application and technical account unless given others
    (`client_id` and `client_secret`, `login` and `password`).
    """

    def __init__(
        self,
        handle: SimulatorHandle,
        *,
        timeout: float = 10.0,
        client_id: str | None = None,
        client_secret: str | None = None,
        login: str | None = None,
        password: str | None = None,
    ) -> None:
        self.handle = handle
        # Plain HTTP on loopback: verify=False only skips loading the CA bundle (~0.1 s a client).
        self.http = httpx.Client(
            base_url=handle.base_url, timeout=timeout, trust_env=False, verify=False
        )
        creds = handle.credentials
        self.credentials = {
            "client_id": client_id or creds["client_id"],
            "client_secret": client_secret or creds["client_secret"],
            "login": login or creds["login"],
            "password": password or creds["password"],
        }
        self._token: str | None = None

    def close(self) -> None:
        self.http.close()

    def request_token(self, **form: str) -> httpx.Response:
        creds = self.credentials
        data = {
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "scope": "openid",
            **form,
        }
        return self.http.post(TOKEN_PATH, data=data)

    def token(self, *, fresh: bool = False) -> str:
        if self._token is None or fresh:
            response = self.request_token()
            assert response.status_code == 200, response.text
            self._token = response.json()["access_token"]
        assert self._token is not None
        return self._token

    def headers(self, *, token: str | None = None, account: str | None = None) -> dict[str, str]:
        creds = self.credentials
        return {
            "Authorization": f"Bearer {token or self.token()}",
            "cpro-account": account or account_header(creds["login"], creds["password"]),
            "Content-Type": JSON_TYPE,
            "Accept": JSON_TYPE,
        }

    def post(
        self,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        kwargs: dict[str, Any] = {"json": {} if body is None else body}
        if timeout is not None:
            kwargs["timeout"] = timeout
        return self.http.post(path, headers=headers or self.headers(), **kwargs)

    def ok(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Calls and insists on success; returns the JSON answer."""
        response = self.post(path, body)
        assert response.status_code == 200, response.text
        payload: dict[str, Any] = response.json()
        assert payload["codeRetour"] == 0, payload
        assert payload["libelle"] == "TRA_MSG_00.000"
        return payload

    def refused(self, path: str, body: dict[str, Any], code: int) -> dict[str, Any]:
        """Calls and insists on a functional refusal with `code` (HTTP 400 by default)."""
        response = self.post(path, body)
        payload: dict[str, Any] = response.json()
        assert payload["codeRetour"] == code, payload
        assert response.status_code == 400, response.text
        assert payload["libelle"]
        return payload

    def submit(self, numero: str, **options: Any) -> dict[str, Any]:
        return self.ok(SOUMETTRE, invoice_body(numero, **options))

    def search(self, **criteria: Any) -> dict[str, Any]:
        return self.ok(RECHERCHER, criteria)

    def search_all(self, **criteria: Any) -> list[dict[str, Any]]:
        criteria.setdefault("rechercheFactureParFournisseur", {"nbResultatsParPage": 1000})
        items: list[dict[str, Any]] = self.search(**criteria)["listeFactures"]
        return items

    def upload(self, name: str = "facture.pdf", content: bytes = b"%PDF-1.7 test") -> int:
        payload = self.ok(
            AJOUTER_FICHIER,
            {
                "pieceJointeFichier": b64(content),
                "pieceJointeNom": name,
                "pieceJointeTypeMime": "application/pdf",
                "pieceJointeExtension": name.rsplit(".", 1)[-1].upper(),
            },
        )
        upload_id: int = payload["pieceJointeId"]
        return upload_id

    def history(self, invoice_id: int, **params: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"idFacture": invoice_id}
        if params:
            body["paramRechercheHistoStatuts"] = params
        return self.ok(HISTORIQUE, body)


def invoice_body(
    numero: str | None = "F-2025-0001",
    *,
    supplier: Supplier = ANTIGONE,
    supplier_service: int | None = None,
    bank: int | None = None,
    siret: str = BUYER_NO_REQUIREMENT.siret,
    service: str = "",
    engagement: str | None = None,
    mode: str = "SAISIE_API",
    ht: float = 500.0,
    tva: float = 100.0,
    ttc: float | None = None,
    type_facture: str = "FACTURE",
    origin: str | None = None,
    attachment_id: int | None = None,
    date_facture: str | None = None,
) -> dict[str, Any]:
    """A valid `soumettre` body by default (SAISIE_API to the buyer that requires nothing)."""
    references: dict[str, Any] = {
        "deviseFacture": "EUR",
        "typeFacture": type_facture,
        "typeTva": "TVA_SUR_DEBIT",
        "modePaiement": "VIREMENT",
    }
    if engagement is not None:
        references["numeroBonCommande"] = engagement
    if origin is not None:
        references["numeroFactureOrigine"] = origin
    body: dict[str, Any] = {
        "modeDepot": mode,
        "numeroFactureSaisi": numero,
        "idUtilisateurCourant": 0,
        "destinataire": {"codeDestinataire": siret, "codeServiceExecutant": service},
        "fournisseur": {
            "idFournisseur": supplier.id,
            "idServiceFournisseur": supplier_service or supplier.services[0].id,
            "codeCoordonneesBancairesFournisseur": bank or supplier.bank_accounts[0].id,
        },
        "cadreDeFacturation": {"codeCadreFacturation": "A1_FACTURE_FOURNISSEUR"},
        "references": references,
        "lignePoste": [
            {
                "lignePosteNumero": 1,
                "lignePosteReference": "R1",
                "lignePosteDenomination": "Atelier",
                "lignePosteQuantite": 1,
                "lignePosteUnite": "forfait",
                "lignePosteMontantUnitaireHT": ht,
                "lignePosteMontantRemiseHT": 0,
                "lignePosteTauxTvaManuel": 20,
            }
        ],
        "ligneTva": [
            {
                "ligneTvaMontantBaseHtParTaux": ht,
                "ligneTvaMontantTvaParTaux": tva,
                "ligneTvaTauxManuel": 20,
            }
        ],
        "montantTotal": {
            "montantHtTotal": ht,
            "montantTVA": tva,
            "montantTtcTotal": ht + tva if ttc is None else ttc,
            "montantAPayer": ht + tva if ttc is None else ttc,
        },
        "commentaire": "Prestation",
    }
    if date_facture is not None:
        body["dateFacture"] = date_facture
    if mode != "SAISIE_API" and attachment_id is not None:
        body["pieceJointePrincipale"] = [
            {
                "pieceJointePrincipaleDesignation": "Facture",
                "pieceJointePrincipaleId": attachment_id,
            }
        ]
    return body
