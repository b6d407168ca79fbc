"""Factures API: submit, deposit a flux, search, consult, history, and the supplier's follow-ups.

Handlers run with the store lock held, which is what makes the duplicate check and the insert of
`soumettre` one atomic step even with many concurrent clients.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from chorus_pro.simulator import codes, flux, lifecycle
from chorus_pro.simulator.api_transverses import decode_base64
from chorus_pro.simulator.clock import (
    format_date,
    format_history,
    format_iso,
    parse_request_date,
    parse_request_datetime,
)
from chorus_pro.simulator.gateway import Operation
from chorus_pro.simulator.params import (
    get_bool,
    get_int,
    get_list,
    get_number,
    get_object,
    get_str,
    page_request,
    paginate,
)
from chorus_pro.simulator.render import invoice_detail, invoice_summary, status_entry
from chorus_pro.simulator.seed import supplier_by_id
from chorus_pro.simulator.store import Flux, Invoice, Store
from chorus_pro.simulator.validation import (
    MAX_COMMENT_LENGTH,
    check_attachments,
    check_routing,
    validate_submission,
)

__all__ = ["MAX_PAGE_SIZE", "OPERATIONS"]

#: Largest `nbResultatsParPage` honoured by the searches (larger asks are capped): an assumption.
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 10
MAX_FLUX_NAME = 200
_BASE = "/cpro/factures/v1"


# --- deposit ---------------------------------------------------------------------------------


def _count_attempt(store: Store, body: dict[str, Any]) -> None:
    """Every soumettre reaching Chorus, refused or not, for the control endpoint's counts."""
    fournisseur = body.get("fournisseur")
    supplier_id = fournisseur.get("idFournisseur") if isinstance(fournisseur, dict) else None
    supplier = supplier_by_id(supplier_id) if isinstance(supplier_id, int) else None
    numero = body.get("numeroFactureSaisi")
    key = (
        supplier.siret if supplier else str(supplier_id),
        numero if isinstance(numero, str) else "",
    )
    store.attempts[key] += 1


def soumettre(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    _count_attempt(store, body)
    data = validate_submission(
        body, attached_sirets=store.attached_sirets(), uploads=store.uploads.keys()
    )
    if store.config.reject_duplicate_numbers and store.find_duplicate(data.supplier, data.numero):
        raise codes.NUMBER_DUPLICATE(numero=data.numero)
    invoice = store.add_invoice(data, "api")
    return {
        "identifiantFactureCPP": invoice.id,
        "numeroFacture": data.numero,
        "dateDepot": format_date(invoice.deposited_at.date()),
        "statutFacture": invoice.statut,
        "identifiantStructure": data.buyer.siret,
        "empreinteCertificatDepot": invoice.fingerprint,
    }


def deposer_flux(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    syntaxe = get_str(body, "syntaxeFlux", required=True)
    assert syntaxe is not None
    if syntaxe not in flux.SYNTAXES:
        raise codes.FLUX_BAD_SYNTAX(syntaxe=syntaxe)
    name = get_str(body, "nomFichier")
    if name is None or len(name) > MAX_FLUX_NAME or "." not in name.strip("."):
        raise codes.FLUX_BAD_NAME()
    content = decode_base64(get_str(body, "fichierFlux"))
    if content is None:
        raise codes.FLUX_BAD_CONTENT()
    limit = store.config.max_upload_bytes
    if len(content) > limit:
        raise codes.FLUX_TOO_LARGE(limit=limit)
    now = store.clock.now()
    reading = flux.read_flux(content, syntaxe)
    deposit = Flux(
        numero=store.new_flux_number(),
        nom_fichier=name,
        syntaxe=syntaxe,
        avec_signature=bool(get_bool(body, "avecSignature")),
        size=len(content),
        deposited_at=now,
        documents=reading.documents,
        state=flux.PENDING,
        state_at=now,
        account_login=store.current_account().login,
        reading_errors=reading.errors,
        content=content,
    )
    store.flux[deposit.numero] = deposit
    return {
        "numeroFluxDepot": deposit.numero,
        "dateDepot": format_date(now.date()),
        "syntaxeFlux": syntaxe,
    }


# --- search ----------------------------------------------------------------------------------

Predicate = Callable[[Invoice], bool]


def _date_filter(
    body: dict[str, Any], key_from: str, key_to: str, value: Callable[[Invoice], date | None]
) -> list[Predicate]:
    predicates: list[Predicate] = []
    for key, is_lower in ((key_from, True), (key_to, False)):
        text = get_str(body, key)
        if text is None:
            continue
        try:
            bound = parse_request_date(text)
        except ValueError:
            raise codes.INVALID_PARAMETER(field=key) from None

        def check(inv: Invoice, bound: date = bound, is_lower: bool = is_lower) -> bool:
            current = value(inv)
            if current is None:
                return False
            return current >= bound if is_lower else current <= bound

        predicates.append(check)
    return predicates


def _state_window(body: dict[str, Any]) -> list[Predicate]:
    predicates: list[Predicate] = []
    for key, is_lower in (
        ("periodeDateHeureEtatCourantDu", True),
        ("periodeDateHeureEtatCourantAu", False),
    ):
        text = get_str(body, key)
        if text is None:
            continue
        try:
            bound = parse_request_datetime(text, end_of_day=not is_lower)
        except ValueError:
            raise codes.INVALID_PARAMETER(field=key) from None

        def check(inv: Invoice, bound: datetime = bound, is_lower: bool = is_lower) -> bool:
            return inv.changed_at >= bound if is_lower else inv.changed_at <= bound

        predicates.append(check)
    return predicates


def _equals(body: dict[str, Any], key: str, value: Callable[[Invoice], Any]) -> list[Predicate]:
    wanted = get_str(body, key)
    if wanted is None:
        return []
    return [lambda inv: value(inv) == wanted]


def _range(body: dict[str, Any], key: str, value: Callable[[Invoice], float]) -> list[Predicate]:
    predicates: list[Predicate] = []
    low = get_number(body, f"{key}Min")
    high = get_number(body, f"{key}Max")
    if low is not None:
        predicates.append(lambda inv: value(inv) >= low)
    if high is not None:
        predicates.append(lambda inv: value(inv) <= high)
    return predicates


def _recipients(body: dict[str, Any]) -> list[Predicate]:
    entries = get_list(body, "listeDestinataire")
    if not entries:
        return []
    wanted: dict[int, set[int]] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise codes.INVALID_PARAMETER(field=f"listeDestinataire[{index}]")
        buyer_id = get_int(
            entry, "idDestinataire", required=True, field="listeDestinataire.idDestinataire"
        )
        assert buyer_id is not None
        services = {s for s in get_list(entry, "listeIdServiceExecutant") if isinstance(s, int)}
        wanted.setdefault(buyer_id, set()).update(services)

    def check(inv: Invoice) -> bool:
        services = wanted.get(inv.data.buyer.id)
        if services is None:
            return False
        return not services or (inv.data.service is not None and inv.data.service.id in services)

    return [check]


def _search_predicates(body: dict[str, Any]) -> list[Predicate]:
    predicates: list[Predicate] = []
    predicates += _equals(body, "numeroFacture", lambda inv: inv.data.numero)
    predicates += _equals(body, "numeroFluxDepot", lambda inv: inv.numero_flux)
    predicates += _equals(body, "numeroFactureOrigine", lambda inv: inv.data.numero_facture_origine)
    predicates += _equals(body, "numeroBonCommande", lambda inv: inv.data.engagement)
    predicates += _equals(body, "numeroMarche", lambda inv: inv.data.numero_marche)
    predicates += _equals(body, "typeFacture", lambda inv: inv.data.type_facture)
    predicates += _equals(body, "modeDepot", lambda inv: inv.data.mode_depot)
    predicates += _equals(body, "cadreFacturation", lambda inv: inv.data.cadre)
    statuses = body.get("statutCourant")
    if isinstance(statuses, str):
        statuses = [statuses]
    if statuses:
        if not isinstance(statuses, list) or not all(isinstance(s, str) for s in statuses):
            raise codes.INVALID_PARAMETER(field="statutCourant")
        wanted_statuses = set(statuses)
        predicates.append(lambda inv: inv.statut in wanted_statuses)
    supplier_id = get_int(body, "idFournisseur")
    if supplier_id is not None:
        predicates.append(lambda inv: inv.data.supplier.id == supplier_id)
    service_id = get_int(body, "idServiceFournisseur")
    if service_id is not None:
        predicates.append(
            lambda inv: (
                inv.data.supplier_service is not None and inv.data.supplier_service.id == service_id
            )
        )
    rejet_traite = get_bool(body, "rejetTraite")
    if rejet_traite is not None:
        predicates.append(lambda inv: inv.rejet_traite == rejet_traite)
    predicates += _recipients(body)
    predicates += _range(body, "montantHT", lambda inv: inv.data.montant_ht)
    predicates += _range(body, "montantTTC", lambda inv: inv.data.montant_ttc)
    predicates += _range(body, "montantApayer", lambda inv: inv.data.montant_a_payer)
    predicates += _date_filter(
        body, "periodeDateDepotDu", "periodeDateDepotAu", lambda inv: inv.deposited_at.date()
    )
    predicates += _date_filter(
        body, "periodeDateFactureDu", "periodeDateFactureAu", lambda inv: inv.data.date_facture
    )
    predicates += _state_window(body)
    return predicates


_SORT_KEYS: dict[str, Callable[[Invoice], Any]] = {
    "identifiantfacturecpp": lambda inv: inv.id,
    "numerofacture": lambda inv: inv.data.numero,
    "datedepot": lambda inv: inv.deposited_at,
    "datefacture": lambda inv: inv.data.date_facture or date.min,
    "dateheureetatcourant": lambda inv: inv.changed_at,
    "statut": lambda inv: inv.statut,
    "montantttc": lambda inv: inv.data.montant_ttc,
    "montantht": lambda inv: inv.data.montant_ht,
}


def rechercher_fournisseur(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """Visible invoices matching every filter, sorted (default: by id), one page of them."""
    page, size, params = page_request(
        body,
        "rechercheFactureParFournisseur",
        default_size=DEFAULT_PAGE_SIZE,
        max_size=MAX_PAGE_SIZE,
    )
    predicates = _search_predicates(body)
    # `store.visible` for each invoice, with the account's structures looked up once per
    # request instead of once per invoice (most of a search's time over 100,000 invoices).
    attached = set(store.attached_sirets())
    supplier_id = get_int(body, "idFournisseur")
    candidates = (
        store.by_supplier.get(supplier_id, [])
        if supplier_id is not None
        else store.invoices.values()
    )
    found = [
        inv
        for inv in candidates
        if inv.data.supplier.siret in attached and all(check(inv) for check in predicates)
    ]
    column = (get_str(params, "triColonne") or "").lower()
    sort_key = _SORT_KEYS.get(column, _SORT_KEYS["identifiantfacturecpp"])
    descending = get_str(params, "triSens") == "Descendant"
    found.sort(key=lambda inv: inv.id, reverse=descending)
    found.sort(key=sort_key, reverse=descending)
    maximum = get_int(params, "nbResultatsMaximum")
    if maximum is not None and maximum > 0:
        found = found[:maximum]
    page_items, retour = paginate(found, page, size)
    return {
        "listeFactures": [invoice_summary(inv) for inv in page_items],
        "parametresRetour": retour,
    }


# --- one invoice -----------------------------------------------------------------------------


def _invoice(store: Store, invoice_id: int | None) -> Invoice:
    invoice = store.invoices.get(invoice_id) if invoice_id is not None else None
    if invoice is None or not store.visible(invoice):
        raise codes.INVOICE_NOT_FOUND()
    return invoice


def consulter_fournisseur(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    invoice = _invoice(store, get_int(body, "identifiantFactureCPP", required=True))
    return {"facture": invoice_detail(invoice, store.uploads)}


def consulter_historique(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """Status history, oldest first unless `triSensListeHistoStatut` is Descendant."""
    invoice = _invoice(store, get_int(body, "idFacture", required=True))
    page, size, params = page_request(
        body,
        "paramRechercheHistoStatuts",
        default_size=DEFAULT_PAGE_SIZE,
        max_size=MAX_PAGE_SIZE,
        page_field="pageResultatDemandeeListeHistoStatut",
        size_field="nbResultatsParPageListeHistoStatut",
    )
    entries = list(invoice.history)
    if get_str(params, "triSensListeHistoStatut") == "Descendant":
        entries.reverse()
    maximum = get_int(body, "nbResultatsMaximum")
    if maximum is not None and maximum > 0:
        entries = entries[:maximum]
    page_entries, retour = paginate(entries, page, size)
    actions = [
        {
            "histoActionId": action.id,
            "histoActionCode": action.code,
            "histoActionDateHeure": format_iso(action.at),
            "histoActionCommentaire": action.commentaire,
        }
        for action in invoice.actions
    ]
    last_action = invoice.actions[-1] if invoice.actions else None
    return {
        "idFacture": invoice.id,
        "numeroFacture": invoice.data.numero,
        "modeDepot": invoice.data.mode_depot,
        "statutCourantCode": invoice.statut,
        "derniereAction": (
            {"derniereActionCode": last_action.code, "derniereActionId": last_action.id}
            if last_action
            else None
        ),
        "historiquesDesStatuts": {
            "histoStatut": [
                status_entry(c.id, c.statut, format_history(c.at), c.commentaire)
                for c in page_entries
            ],
            "pageCouranteHistoStatut": retour["pageCourante"],
            "pagesHistoStatut": retour["pages"],
            "nbResultatsParPageHistoStatut": retour["nbResultatsParPage"],
            "totalHistoStatut": retour["total"],
        },
        "historiquesDesActionsUtilisateurs": {
            "histoAction": actions,
            "pageCouranteHistoAction": 1,
            "pagesHistoAction": 1,
            "nbResultatsParPageHistoAction": len(actions),
            "totalHistoAction": len(actions),
        },
        "historiquesDesEvenementsComplementaires": {
            "evenement": [],
            "pageCouranteHistoEvenement": 1,
            "pagesHistoEvenement": 1,
            "nbResultatsParPageHistoEvenement": 0,
            "totalHistoEvenement": 0,
        },
    }


def _comment(body: dict[str, Any]) -> str:
    comment = get_str(body, "commentaire") or ""
    if len(comment) > MAX_COMMENT_LENGTH:
        raise codes.FIELD_TOO_LONG(field="commentaire", max=MAX_COMMENT_LENGTH)
    return comment


def completer(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """SUSPENDUE → COMPLETEE; the buyer then resumes processing (and pays, in the simulator)."""
    invoice = _invoice(store, get_int(body, "identifiantFactureCPP", required=True))
    if invoice.statut != lifecycle.SUSPENDUE:
        raise codes.NOT_SUSPENDED()
    comment = _comment(body)
    attachments = get_list(body, "pieceJointeComplementaire")
    check_attachments(attachments, "pieceJointeComplementaire", store.uploads.keys())
    now = store.clock.now()
    invoice.data = dataclasses.replace(
        invoice.data,
        pieces_complementaires=invoice.data.pieces_complementaires + tuple(attachments),
    )
    store.record_status(invoice, lifecycle.COMPLETEE, now, comment)
    store.record_action(invoice, "COMPLETER", comment)
    invoice.phase += 1
    invoice.plan = lifecycle.after_completion(
        store.config.seed, invoice.id, invoice.phase, now, store.reports_payment(invoice.data)
    )
    return {
        "identifiantFactureCPP": invoice.id,
        "numeroFacture": invoice.data.numero,
        "dateTraitement": format_date(now.date()),
    }


def recycler(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """A_RECYCLER → DEPOSEE again with the corrected routing data, then routed as a new deposit.

    AIFE's public recycle example answers `statutFacture: "DEPOSEE"` with a `dateDepot`: the
    invoice starts its routing again (DEPOSEE → EN_COURS_ACHEMINEMENT → MISE_A_DISPOSITION). The
    `dateDepot` answered is the day of the recycling; the searches keep showing the first deposit
    date (whether Chorus Pro moves it is not documented).

    `destinataire`, when given, replaces the recipient and its service together. The engagement
    is read from `references.numeroBonCommande` or `reference.numeroBonCommande` (peers disagree
    on the key), and **whether Chorus Pro changes the engagement through `recycler` is unproven**:
    the public example carries no engagement at all. `recycle_engagement` chooses: `applied` (the
    default) or `ignored` (the routing changes, the engagement stays), so that a client can be
    tested against both. Missing parts keep their current values.
    """
    invoice = _invoice(store, get_int(body, "identifiantFactureCPP", required=True))
    if invoice.statut != lifecycle.A_RECYCLER:
        raise codes.WRONG_STATE(statut=invoice.statut)
    data = invoice.data
    siret = data.buyer.siret
    service_code = data.service.code if data.service else None
    if "destinataire" in body:
        destinataire = get_object(body, "destinataire")
        siret = (
            get_str(destinataire, "codeDestinataire", field="destinataire.codeDestinataire")
            or siret
        )
        service_code = get_str(
            destinataire, "codeServiceExecutant", field="destinataire.codeServiceExecutant"
        )
    engagement = data.engagement
    for key in ("references", "reference"):
        refs = get_object(body, key)
        if "numeroBonCommande" in refs:
            engagement = get_str(refs, "numeroBonCommande", field=f"{key}.numeroBonCommande")
    if store.config.recycle_engagement == "ignored":
        engagement = data.engagement
    buyer, service = check_routing(siret, service_code, engagement)
    comment = _comment(body)
    now = store.clock.now()
    invoice.data = dataclasses.replace(data, buyer=buyer, service=service, engagement=engagement)
    store.record_status(invoice, lifecycle.DEPOSEE, now, comment)
    store.record_action(invoice, "RECYCLER", comment)
    invoice.phase += 1
    invoice.plan = lifecycle.after_recycling(
        store.config.seed, invoice.id, invoice.phase, now, store.reports_payment(invoice.data)
    )
    return {
        "identifiantFactureCPP": invoice.id,
        "numeroFacture": invoice.data.numero,
        "dateDepot": format_date(now.date()),
        "statutFacture": invoice.statut,
    }


def traiter_rejet(store: Store, body: dict[str, Any]) -> dict[str, Any]:
    """Marks rejections as handled (`rejetTraite`); all or nothing."""
    entries = get_list(body, "listeDemandePaiement")
    if not entries:
        raise codes.INVALID_PARAMETER(field="listeDemandePaiement")
    invoices = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise codes.INVALID_PARAMETER(field="listeDemandePaiement")
        invoices.append(
            _invoice(
                store,
                get_int(entry, "idDemandePaiement", required=True, field="idDemandePaiement"),
            )
        )
    for invoice in invoices:
        if invoice.statut != lifecycle.REJETEE:
            raise codes.WRONG_STATE(statut=invoice.statut)
    motif = get_str(body, "motifRejet") or ""
    for invoice in invoices:
        invoice.rejet_traite = True
        store.record_action(invoice, "TRAITEMENT_REJET", motif)
    return {}


OPERATIONS = (
    Operation(f"{_BASE}/soumettre", soumettre, write=True),
    Operation(f"{_BASE}/deposer/flux", deposer_flux, write=True),
    Operation(f"{_BASE}/rechercher/fournisseur", rechercher_fournisseur),
    Operation(f"{_BASE}/consulter/fournisseur", consulter_fournisseur),
    Operation(f"{_BASE}/consulter/historique", consulter_historique),
    Operation(f"{_BASE}/completer", completer, write=True),
    Operation(f"{_BASE}/recycler", recycler, write=True),
    Operation(f"{_BASE}/traiterRejet", traiter_rejet, write=True),
)
