"""The Chorus Pro client: typed methods over one pooled, thread-safe `httpx.Client`.

Every call goes through `_call`, which adds the two credential layers (PISTE bearer token and the
`cpro-account` header), turns the answer into a pydantic model or an exception of
`chorus_pro.errors`, replays once after a 401 with a fresh token, and retries transient failures
with jittered exponential backoff. Writes are never retried once they may have reached Chorus: see
`chorus_pro.transport` for which failures count as "may have".
"""

from __future__ import annotations

import base64
import copy
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import PurePath
from types import TracebackType
from typing import Any, TypeVar

import httpx
import structlog
from pydantic import BaseModel, SecretStr, ValidationError

from chorus_pro.auth import AccessToken, TokenCache
from chorus_pro.config import ChorusProConfig
from chorus_pro.errors import (
    AmbiguousOutcomeError,
    AuthenticationError,
    TransientError,
    UnexpectedResponseError,
)
from chorus_pro.retry import RetryPolicy
from chorus_pro.transport import (
    OPERATIONS,
    Operation,
    classify_response,
    classify_transport_error,
    decode_json,
)
from schemas.payloads import (
    BankAccount,
    BankAccountList,
    ChorusResponse,
    CompleteInvoiceRequest,
    CompleteInvoiceResponse,
    DepositFluxRequest,
    DepositFluxResponse,
    DownloadRequest,
    DownloadResponse,
    FluxReport,
    FluxReportRequest,
    HandleRejectionRequest,
    HealthCheckResponse,
    InvoiceDetail,
    InvoiceDetailResponse,
    InvoiceHistory,
    InvoiceSearchCriteria,
    InvoiceSearchPage,
    InvoiceSummary,
    PageRequest,
    RecycleInvoiceRequest,
    RecycleInvoiceResponse,
    ServiceDetail,
    ServicePage,
    ServiceSummary,
    StructureDetail,
    StructurePage,
    StructureSummary,
    SubmitInvoiceRequest,
    SubmitInvoiceResponse,
    SupplierStructure,
    SupplierStructureList,
    SyntaxeFlux,
    UploadFileRequest,
    UploadFileResponse,
)

__all__ = ["ChorusProClient"]

logger = structlog.get_logger("chorus_etl.chorus_pro")

ModelT = TypeVar("ModelT", bound=BaseModel)

#: Stops a paging loop whose server keeps announcing more pages than it can deliver.
MAX_PAGES = 10_000
#: Lifetime assumed when the token answer leaves `expires_in` out (PISTE's is 3600 s).
DEFAULT_TOKEN_LIFETIME = 3600.0
JSON_CONTENT_TYPE = "application/json;charset=utf-8"

_TOKEN = Operation(name="oauth/token", path="", write=False)


class ChorusProClient:
    """A Chorus Pro supplier client; share one instance between threads, close it when done.

    `transport`, `sleep`, `clock` and `retry` exist for tests and benchmarks: an
    `httpx.MockTransport`, a sleep that records instead of waiting, a fake monotonic clock for
    token expiry, a seeded `RetryPolicy`. `throttle` is called before every API request (not the
    token request): the pipeline plugs its per-application rate limit in there.
    """

    def __init__(
        self,
        config: ChorusProConfig,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        retry: RetryPolicy | None = None,
        throttle: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self._sleep = sleep
        self._throttle = throttle
        self._owns_pool = True
        self._retry = retry or RetryPolicy(
            max_retries=config.max_retries,
            base=config.backoff_base,
            cap=config.backoff_max,
            retry_after_max=config.retry_after_max,
        )
        self._http = httpx.Client(
            timeout=httpx.Timeout(config.timeout, connect=config.connect_timeout),
            limits=httpx.Limits(
                max_connections=config.max_connections,
                max_keepalive_connections=config.max_connections,
            ),
            headers={"Accept": JSON_CONTENT_TYPE, "User-Agent": config.user_agent},
            transport=transport,
            trust_env=config.trust_env,
            follow_redirects=False,
        )
        pair = f"{config.login}:{config.password.get_secret_value()}".encode()
        self._cpro_account = SecretStr(base64.b64encode(pair).decode("ascii"))
        self._tokens = TokenCache(
            self._fetch_token, margin=config.token_refresh_margin, clock=clock
        )

    def __repr__(self) -> str:
        return f"<ChorusProClient api_url={self.config.api_url!r} login={self.config.login!r}>"

    def __enter__(self) -> ChorusProClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_pool:
            self._http.close()

    def with_account(self, login: str, password: SecretStr) -> ChorusProClient:
        """The same PISTE application acting as another technical account.

        A cooperative's structures each have their own technical account but often share one
        PISTE application: the returned client shares this one's connection pool, token cache and
        throttle (one token per application, however many accounts use it) and only changes the
        `cpro-account` header. Closing it is a no-op; close the client it came from.
        """
        other = copy.copy(self)
        other.config = self.config.model_copy(update={"login": login, "password": password})
        pair = f"{login}:{password.get_secret_value()}".encode()
        other._cpro_account = SecretStr(base64.b64encode(pair).decode("ascii"))
        other._owns_pool = False
        return other

    @property
    def token_fetch_count(self) -> int:
        """How many tokens this client asked PISTE for; tests and metrics read it."""
        return self._tokens.fetch_count

    # --- transverses ---------------------------------------------------------------------------

    def health_check(self) -> HealthCheckResponse:
        """Cheap readiness probe; proves the token, not the technical account."""
        op = OPERATIONS["transverses/health-check"]
        data = self._call(op, None, envelope=False)
        return self._parse(HealthCheckResponse, data if isinstance(data, dict) else {}, op.name)

    def upload_file(
        self,
        name: str,
        content: bytes,
        mime: str = "application/pdf",
        *,
        extension: str | None = None,
    ) -> int:
        """Uploads an attachment and returns its `pieceJointeId`, for `soumettre` or `completer`."""
        suffix = extension or PurePath(name).suffix.lstrip(".")
        request = UploadFileRequest(
            pieceJointeFichier=base64.b64encode(content).decode("ascii"),
            pieceJointeNom=name,
            pieceJointeTypeMime=mime,
            pieceJointeExtension=suffix.upper(),
        )
        op = OPERATIONS["transverses/ajouter/fichier"]
        return self._parse(UploadFileResponse, self._call(op, request), op.name).pieceJointeId

    def flux_report(self, numero_flux: str, syntaxe: str | None = None) -> FluxReport:
        """The detailed report of a deposited flux: its state and the invoices it refused."""
        op = OPERATIONS["transverses/consulterCRDetaille"]
        request = FluxReportRequest(numeroFluxDepot=numero_flux, syntaxeFlux=syntaxe)
        return self._parse(FluxReport, self._call(op, request), op.name)

    def supplier_structures(self) -> list[SupplierStructure]:
        """Structures the technical account may invoice for; gives each one's `idFournisseur`."""
        op = OPERATIONS["transverses/recuperer/structures/actives/fournisseur"]
        return self._parse(SupplierStructureList, self._call(op, {}), op.name).listeStructures

    def bank_accounts(self, id_structure: int) -> list[BankAccount]:
        """Valid bank details of a supplier structure (`codeCoordonneesBancairesFournisseur`)."""
        op = OPERATIONS["transverses/recuperer/coordbanc/valides"]
        data = self._call(op, {"idStructure": id_structure})
        return self._parse(BankAccountList, data, op.name).listeCoordonneeBancaire

    # --- factures: writes ----------------------------------------------------------------------

    def submit_invoice(self, request: SubmitInvoiceRequest) -> SubmitInvoiceResponse:
        """`soumettre`. On `AmbiguousOutcomeError`, search by number before submitting again."""
        op = OPERATIONS["factures/soumettre"]
        return self._parse(SubmitInvoiceResponse, self._call(op, request), op.name)

    def deposit_flux(
        self,
        name: str,
        content: bytes,
        syntaxe: SyntaxeFlux | str,
        *,
        signed: bool = False,
    ) -> DepositFluxResponse:
        """Deposits a UBL/CII/Factur-X file; only receipt is known until `flux_report` says more."""
        op = OPERATIONS["factures/deposer/flux"]
        request = DepositFluxRequest(
            fichierFlux=base64.b64encode(content).decode("ascii"),
            nomFichier=name,
            syntaxeFlux=SyntaxeFlux(syntaxe),
            avecSignature=signed,
        )
        return self._parse(DepositFluxResponse, self._call(op, request), op.name)

    def complete_invoice(self, request: CompleteInvoiceRequest) -> CompleteInvoiceResponse:
        """`completer`: answers a SUSPENDUE invoice with a comment and/or attachments."""
        op = OPERATIONS["factures/completer"]
        return self._parse(CompleteInvoiceResponse, self._call(op, request), op.name)

    def recycle_invoice(self, request: RecycleInvoiceRequest) -> RecycleInvoiceResponse:
        """`recycler`: fixes the routing (recipient, service, commitment) of an A_RECYCLER invoice."""
        op = OPERATIONS["factures/recycler"]
        return self._parse(RecycleInvoiceResponse, self._call(op, request), op.name)

    def handle_rejection(
        self,
        invoice_ids: Sequence[int],
        *,
        motif: str | None = None,
        infos: str | None = None,
    ) -> ChorusResponse:
        """`traiterRejet`: marks the rejection of REJETEE invoices as dealt with (`rejetTraite`)."""
        op = OPERATIONS["factures/traiterRejet"]
        request = HandleRejectionRequest(
            listeDemandePaiement=[{"idDemandePaiement": i} for i in invoice_ids],
            motifRejet=motif,
            cpltInfos=infos,
        )
        return self._parse(ChorusResponse, self._call(op, request), op.name)

    # --- factures: reads -----------------------------------------------------------------------

    def search_invoices(
        self,
        criteria: InvoiceSearchCriteria | None = None,
        page: int = 1,
        page_size: int = 100,
    ) -> InvoiceSearchPage:
        """One page of `rechercher/fournisseur`."""
        op = OPERATIONS["factures/rechercher/fournisseur"]
        body = _dump(criteria or InvoiceSearchCriteria())
        body["rechercheFactureParFournisseur"] = _dump(
            PageRequest(pageResultatDemandee=page, nbResultatsParPage=page_size)
        )
        return self._parse(InvoiceSearchPage, self._call(op, body), op.name)

    def iter_invoices(
        self, criteria: InvoiceSearchCriteria | None = None, page_size: int = 100
    ) -> Iterator[InvoiceSummary]:
        """Every invoice matching `criteria`, fetching pages as the caller consumes them.

        Follows `parametresRetour.pages` rather than stopping at the first page: the OCA connector
        lost invoices for years because it read only the first ten.
        """
        page = 1
        while True:
            result = self.search_invoices(criteria, page, page_size)
            yield from result.listeFactures
            if not _has_next(page, result.parametresRetour.pages, len(result.listeFactures)):
                return
            page += 1

    def find_invoices_by_number(self, id_fournisseur: int, number: str) -> list[InvoiceSummary]:
        """Every invoice of the supplier with exactly this number, latest first.

        The search may match loosely, so the number is compared exactly here. Several invoices
        may carry it (a number reused after a rejection): which one is ours is for the caller to
        tell, by comparing what it knows of its invoice.
        """
        criteria = InvoiceSearchCriteria(numeroFacture=number, idFournisseur=id_fournisseur)
        matches = [i for i in self.iter_invoices(criteria) if i.numeroFacture == number]
        return sorted(matches, key=lambda i: -i.identifiantFactureCPP)

    def find_invoice_by_number(self, id_fournisseur: int, number: str) -> InvoiceSummary | None:
        """The latest of the supplier's invoices with exactly this number, or None."""
        return next(iter(self.find_invoices_by_number(id_fournisseur, number)), None)

    def get_invoice(self, identifiant_facture_cpp: int) -> InvoiceDetail:
        """`consulter/fournisseur`: the invoice as Chorus holds it."""
        op = OPERATIONS["factures/consulter/fournisseur"]
        data = self._call(op, {"identifiantFactureCPP": identifiant_facture_cpp})
        return self._parse(InvoiceDetailResponse, data, op.name).facture

    def get_history(self, identifiant_facture_cpp: int, page_size: int = 100) -> InvoiceHistory:
        """`consulter/historique` with every page of status changes merged into one answer."""
        op = OPERATIONS["factures/consulter/historique"]
        page = 1
        merged: InvoiceHistory | None = None
        while True:
            body = {
                "idFacture": identifiant_facture_cpp,
                "paramRechercheHistoStatuts": {
                    "pageResultatDemandeeListeHistoStatut": page,
                    "nbResultatsParPageListeHistoStatut": page_size,
                },
            }
            result = self._parse(InvoiceHistory, self._call(op, body), op.name)
            statuses = result.historiquesDesStatuts
            if merged is None:
                merged = result
            else:
                merged.historiquesDesStatuts.histoStatut.extend(statuses.histoStatut)
            if not _has_next(page, statuses.pagesHistoStatut, len(statuses.histoStatut)):
                break
            page += 1
        history = merged.historiquesDesStatuts
        history.pageCouranteHistoStatut = 1
        history.pagesHistoStatut = 1
        return merged

    def download_invoices(
        self,
        identifiants_facture_cpp: Sequence[int],
        *,
        format: str = "PDF",
        attachments: bool = True,
    ) -> bytes:
        """`telecharger/groupe`: the invoices' documents as Chorus Pro holds them, in the file
        it answers (an archive). `TooLargeError` (HTTP 413) above 120 MB: ask for fewer invoices,
        or without the attachments."""
        op = OPERATIONS["factures/telecharger/groupe"]
        request = DownloadRequest(
            format=format,
            avecPiecesJointesComplementaires="OUI" if attachments else "NON",
            listeFacture=[{"idFacture": i} for i in identifiants_facture_cpp],
        )
        answer = self._parse(DownloadResponse, self._call(op, request), op.name)
        try:
            return base64.b64decode(answer.fichierResultat, validate=True)
        except ValueError:
            raise UnexpectedResponseError(
                f"{op.name}: fichierResultat is not base64", operation=op.name
            ) from None

    # --- structures ----------------------------------------------------------------------------

    def search_structures(
        self, identifiant: str, type_identifiant: str = "SIRET", page_size: int = 100
    ) -> list[StructureSummary]:
        """Structures registered under a SIRET (or another identifier type), all pages."""
        op = OPERATIONS["structures/rechercher"]
        found: list[StructureSummary] = []
        page = 1
        while True:
            body = {
                "structure": {
                    "identifiantStructure": identifiant,
                    "typeIdentifiantStructure": type_identifiant,
                },
                "parametres": {"pageResultatDemandee": page, "nbResultatsParPage": page_size},
                "restreindreStructuresPrivees": False,
            }
            result = self._parse(StructurePage, self._call(op, body), op.name)
            found.extend(result.listeStructures)
            if not _has_next(page, result.parametresRetour.pages, len(result.listeStructures)):
                return found
            page += 1

    def get_structure(self, id_structure_cpp: int, langue: str = "fr") -> StructureDetail:
        """`consulter`: general information and the `parametres` routing rules of a structure."""
        op = OPERATIONS["structures/consulter"]
        data = self._call(op, {"idStructureCPP": id_structure_cpp, "codeLangue": langue})
        return self._parse(StructureDetail, data, op.name)

    def list_services(self, id_structure: int, page_size: int = 500) -> list[ServiceSummary]:
        """Every service of a structure, active or not (callers filter on `estActif`)."""
        op = OPERATIONS["structures/rechercher/services"]
        found: list[ServiceSummary] = []
        page = 1
        while True:
            body = {
                "idStructure": id_structure,
                "parametresRechercherServicesStructure": {
                    "pageResultatDemandee": page,
                    "nbResultatsParPage": page_size,
                },
            }
            result = self._parse(ServicePage, self._call(op, body), op.name)
            found.extend(result.listeServices)
            if not _has_next(page, result.parametresRetour.pages, len(result.listeServices)):
                return found
            page += 1

    def get_service(self, id_structure: int, id_service: int, langue: str = "fr") -> ServiceDetail:
        """A service's own rules: it may demand an engagement number even if its structure does not."""
        op = OPERATIONS["structures/consulter/service"]
        body = {"idStructure": id_structure, "idService": id_service, "codeLangue": langue}
        return self._parse(ServiceDetail, self._call(op, body), op.name)

    # --- machinery -----------------------------------------------------------------------------

    def _call(
        self,
        operation: Operation,
        payload: BaseModel | Mapping[str, Any] | None,
        *,
        envelope: bool = True,
    ) -> Any:
        """Sends `payload`, retrying transient failures; returns the decoded JSON body."""
        content = None if payload is None else _encode(payload)
        attempt = 0
        while True:
            try:
                return self._attempt(operation, content, envelope)
            except AmbiguousOutcomeError:
                raise
            except TransientError as exc:
                attempt += 1
                wait = self._retry.wait(attempt, exc.retry_after)
                if wait is None:
                    raise
                logger.warning(
                    "chorus_pro.retry",
                    operation=operation.name,
                    attempt=attempt,
                    wait_seconds=round(wait, 3),
                    reason=_reason(exc),
                    status_code=exc.status_code,
                    retry_after=exc.retry_after,
                )
                self._sleep(wait)

    def _attempt(self, operation: Operation, content: bytes | None, envelope: bool) -> Any:
        """One logical attempt: at most two requests, the second after a 401 and a new token."""
        url = self.config.api_url.rstrip("/") + operation.path
        refreshed = False
        while True:
            token = self._tokens.get()
            if self._throttle is not None:
                self._throttle()
            try:
                response = self._http.request(
                    operation.method,
                    url,
                    content=content,
                    headers=self._headers(token, has_body=content is not None),
                )
            except httpx.TransportError as exc:
                raise classify_transport_error(exc, operation) from exc
            if response.status_code == 401 and not refreshed:
                # The gateway refused the request before Chorus saw it, so replaying a write is
                # safe; a second 401 means the credentials, not the token, are wrong.
                refreshed = True
                self._tokens.invalidate(token)
                logger.info("chorus_pro.token_refused", operation=operation.name)
                continue
            return classify_response(response, operation, scrub=self._scrub, envelope=envelope)

    def _headers(self, token: AccessToken, *, has_body: bool) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {token.value}",
            "cpro-account": self._cpro_account.get_secret_value(),
        }
        if has_body:
            headers["Content-Type"] = JSON_CONTENT_TYPE
        return headers

    def _fetch_token(self) -> tuple[str, float]:
        """Client-credentials grant; called by the token cache under its lock."""
        form = {
            "grant_type": "client_credentials",
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret.get_secret_value(),
            "scope": "openid",
        }
        try:
            response = self._http.post(self.config.oauth_url, data=form)
        except httpx.TransportError as exc:
            raise classify_transport_error(exc, _TOKEN) from exc
        body = decode_json(response)
        if response.status_code == 200:
            token = body.get("access_token") if isinstance(body, dict) else None
            if not isinstance(token, str) or not token:
                raise UnexpectedResponseError(
                    "oauth/token: HTTP 200 without an access_token", operation=_TOKEN.name
                )
            try:
                expires_in = float(body.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
            except (TypeError, ValueError):
                expires_in = DEFAULT_TOKEN_LIFETIME
            logger.info("chorus_pro.token_fetched", expires_in=expires_in)
            return token, expires_in
        if response.status_code in (400, 401):
            error = description = ""
            if isinstance(body, dict):
                error = str(body.get("error") or "")
                description = str(body.get("error_description") or "")
            raise AuthenticationError(
                f"PISTE refused the OAuth client credentials of client_id "
                f"{self.config.client_id!r} (HTTP {response.status_code}"
                + (f", {error}" if error else "")
                + (f": {self._scrub(description)}" if description else "")
                + "); check CHORUS_ETL_PISTE_CLIENT_ID/SECRET and the environment's token URL",
                operation=_TOKEN.name,
                status_code=response.status_code,
                www_authenticate=self._scrub(response.headers.get("WWW-Authenticate") or "")
                or None,
            )
        classify_response(response, _TOKEN, scrub=self._scrub, envelope=False)
        raise UnexpectedResponseError(
            f"oauth/token: unexpected HTTP {response.status_code}",
            operation=_TOKEN.name,
            status_code=response.status_code,
        )

    def _scrub(self, text: str) -> str:
        """Masks our own secrets in server text before it goes into an exception message."""
        secrets = [
            self.config.client_secret.get_secret_value(),
            self.config.password.get_secret_value(),
            self._cpro_account.get_secret_value(),
        ]
        token = self._tokens.peek()
        if token is not None:
            secrets.append(token.value)
        for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def _parse(self, model: type[ModelT], data: Any, operation: str) -> ModelT:
        """Validates an answer; an unreadable answer to a write may still hide a success."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            op = OPERATIONS.get(operation)
            message = f"{operation}: answer does not match the API contract: {_summary(exc)}"
            if op is not None and op.write:
                raise AmbiguousOutcomeError(
                    message + "; the request may have been applied", operation=operation
                ) from None
            raise UnexpectedResponseError(message, operation=operation) from None


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


def _encode(payload: BaseModel | Mapping[str, Any]) -> bytes:
    data = _dump(payload) if isinstance(payload, BaseModel) else dict(payload)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _has_next(page: int, pages: int, count: int) -> bool:
    """Whether to ask for the next page; an empty page ends the loop whatever `pages` claims."""
    return count > 0 and page < pages and page < MAX_PAGES


def _reason(exc: TransientError) -> str:
    cause = exc.__cause__
    if isinstance(cause, httpx.TransportError):
        return type(cause).__name__
    return f"HTTP {exc.status_code}" if exc.status_code is not None else type(exc).__name__


def _summary(exc: ValidationError) -> str:
    """Field paths and messages only: the input values could be large or sensitive."""
    parts = [
        f"{'.'.join(str(p) for p in error['loc']) or '<root>'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)[:5]
    ]
    return "; ".join(parts)
