"""What the pipeline needs from Chorus Pro, as a Protocol.

Tasks annotate their client parameter with `ChorusProApi` instead of `ChorusProClient`, so a test can
hand them an in-memory double with the same methods and no HTTP at all, while mypy still checks
that the real client and the double keep the same shape.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from schemas.payloads import (
    BankAccount,
    ChorusResponse,
    CompleteInvoiceRequest,
    CompleteInvoiceResponse,
    DepositFluxResponse,
    FluxReport,
    HealthCheckResponse,
    InvoiceDetail,
    InvoiceHistory,
    InvoiceSearchCriteria,
    InvoiceSearchPage,
    InvoiceSummary,
    RecycleInvoiceRequest,
    RecycleInvoiceResponse,
    ServiceDetail,
    ServiceSummary,
    StructureDetail,
    StructureSummary,
    SubmitInvoiceRequest,
    SubmitInvoiceResponse,
    SupplierStructure,
    SyntaxeFlux,
)

__all__ = ["ChorusProApi"]


@runtime_checkable
class ChorusProApi(Protocol):
    """The Chorus Pro operations used by the deposit, directory and reconciliation tasks."""

    def health_check(self) -> HealthCheckResponse: ...

    def upload_file(
        self, name: str, content: bytes, mime: str = ..., *, extension: str | None = ...
    ) -> int: ...

    def submit_invoice(self, request: SubmitInvoiceRequest) -> SubmitInvoiceResponse: ...

    def deposit_flux(
        self, name: str, content: bytes, syntaxe: SyntaxeFlux | str, *, signed: bool = ...
    ) -> DepositFluxResponse: ...

    def flux_report(self, numero_flux: str, syntaxe: str | None = ...) -> FluxReport: ...

    def search_invoices(
        self, criteria: InvoiceSearchCriteria | None = ..., page: int = ..., page_size: int = ...
    ) -> InvoiceSearchPage: ...

    def iter_invoices(
        self, criteria: InvoiceSearchCriteria | None = ..., page_size: int = ...
    ) -> Iterator[InvoiceSummary]: ...

    def find_invoice_by_number(self, id_fournisseur: int, number: str) -> InvoiceSummary | None: ...

    def find_invoices_by_number(self, id_fournisseur: int, number: str) -> list[InvoiceSummary]: ...

    def get_invoice(self, identifiant_facture_cpp: int) -> InvoiceDetail: ...

    def get_history(self, identifiant_facture_cpp: int, page_size: int = ...) -> InvoiceHistory: ...

    def download_invoices(
        self,
        identifiants_facture_cpp: Sequence[int],
        *,
        format: str = ...,
        attachments: bool = ...,
    ) -> bytes: ...

    def complete_invoice(self, request: CompleteInvoiceRequest) -> CompleteInvoiceResponse: ...

    def recycle_invoice(self, request: RecycleInvoiceRequest) -> RecycleInvoiceResponse: ...

    def handle_rejection(
        self, invoice_ids: Sequence[int], *, motif: str | None = ..., infos: str | None = ...
    ) -> ChorusResponse: ...

    def search_structures(
        self, identifiant: str, type_identifiant: str = ..., page_size: int = ...
    ) -> list[StructureSummary]: ...

    def get_structure(self, id_structure_cpp: int, langue: str = ...) -> StructureDetail: ...

    def list_services(self, id_structure: int, page_size: int = ...) -> list[ServiceSummary]: ...

    def get_service(
        self, id_structure: int, id_service: int, langue: str = ...
    ) -> ServiceDetail: ...

    def supplier_structures(self) -> list[SupplierStructure]: ...

    def bank_accounts(self, id_structure: int) -> list[BankAccount]: ...
