"""Directory checks: does Chorus Pro know the buyer, and what does it demand on its invoices?

Chorus Pro refuses an invoice whose recipient is unknown or inactive, whose required service code
or engagement number is missing, or whose service is unknown, inactive or reserved. Asking before
depositing turns those refusals into reasons the entrepreneur can fix. Each buyer is asked once
(search → consult parameters → list services) and the answer is cached in the warehouse until it
expires.

What Chorus Pro answers about a buyer is final, and becomes a reason: an inactive structure in the
search (`buyer.inactive`, without asking more), a business error on the search, the consultation
or the services list (`buyer.unknown`, with Chorus Pro's code and label), or on a service's
parameters (`service.unknown`). Only a failure to get an answer defers: transport errors,
timeouts, 5xx and 429 (`TransientError`), and the refusals of our own access (credentials, 403)
that no invoice can be blamed for. Invoices deferred are neither lost nor marked invalid: they
wait for the next run, a bounded wait (`tasks.alerts.stalls`) that tells accounting when it lasts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from chorus_etl.log import get_logger
from chorus_pro.api import ChorusProApi
from chorus_pro.errors import BusinessError, ChorusProError
from schemas.issues import Reason
from schemas.payloads import StructureSummary
from schemas.warehouse import BuyerService, BuyerStructure, utcnow
from tasks.ingest.validate import InvoiceDraft

log = get_logger(__name__)

RESERVED_SERVICE = "FACTURES_PUBLIQUES"
Key = tuple[str, str]


@dataclass
class BuyerInfo:
    """What the pipeline needs to know of one buyer; built from the cache or from Chorus Pro."""

    siret: str
    found: bool
    id_structure_cpp: int | None = None
    designation: str | None = None
    active: bool = True
    service_required: bool = False
    engagement_required: bool = False
    service_or_engagement: bool = False
    payment_not_reported: bool = False
    services: dict[str, BuyerService] = field(default_factory=dict)
    #: Chorus Pro's refusal (codeRetour, libelle) when it answered that it does not know the buyer.
    chorus_code: str | None = None
    chorus_label: str | None = None


@dataclass
class DirectoryResult:
    reasons: dict[Key, list[Reason]] = field(default_factory=dict)
    waiting: dict[Key, list[Reason]] = field(default_factory=dict)
    api_calls: int = 0
    buyers_fetched: int = 0
    buyers_cached: int = 0


def _reason(rule: str, column: str, value: str | None, fr: str, en: str) -> Reason:
    return Reason(rule=rule, column=column, value=value, message_fr=fr, message_en=en)


def load_cached(engine: Engine, sirets: Iterable[str], now: datetime) -> dict[str, BuyerInfo]:
    wanted = sorted(set(sirets))
    cached: dict[str, BuyerInfo] = {}
    if not wanted:
        return cached
    with Session(engine) as session:
        structures = session.exec(
            select(BuyerStructure).where(
                col(BuyerStructure.siret).in_(wanted), BuyerStructure.expires_at > now
            )
        ).all()
        services = session.exec(
            select(BuyerService).where(
                col(BuyerService.buyer_siret).in_([s.siret for s in structures])
            )
        ).all()
    by_siret: dict[str, dict[str, BuyerService]] = {}
    for service in services:
        by_siret.setdefault(service.buyer_siret, {})[service.code] = service
    for row in structures:
        cached[row.siret] = BuyerInfo(
            siret=row.siret,
            found=row.found,
            id_structure_cpp=row.id_structure_cpp,
            designation=row.designation,
            active=row.active,
            service_required=row.service_required,
            engagement_required=row.engagement_required,
            service_or_engagement=row.service_or_engagement,
            payment_not_reported=row.payment_not_reported,
            services=by_siret.get(row.siret, {}),
            chorus_code=row.chorus_code,
            chorus_label=row.chorus_label,
        )
    return cached


def _unknown(siret: str, error: BusinessError, summary: StructureSummary | None) -> BuyerInfo:
    """Chorus Pro answered, on its merits, that it cannot describe this buyer: a reason."""
    log.info(
        "directory.buyer_refused",
        buyer_siret=siret,
        operation=error.operation,
        code=error.code_retour,
        label=error.libelle,
    )
    return BuyerInfo(
        siret=siret,
        found=False,
        id_structure_cpp=summary.idStructureCPP if summary else None,
        designation=summary.designationStructure if summary else None,
        chorus_code=str(error.code_retour),
        chorus_label=error.libelle[:500],
    )


def fetch_buyer(api: ChorusProApi, siret: str) -> tuple[BuyerInfo, int]:
    """Asks Chorus Pro: search, then (for an active structure) its parameters and services.

    The search's `statut` is read first: an inactive buyer is refused as it is, and Chorus Pro
    may well answer a business error about it behind the search. A business error is an answer,
    returned as an unknown buyer with its code and label; only failures to get an answer
    (`TransientError`, or our own access refused) propagate, for the caller to defer.
    """
    calls = 1
    try:
        matches = api.search_structures(siret)
    except BusinessError as exc:
        return _unknown(siret, exc, None), calls
    exact = [m for m in matches if (m.identifiantStructure or "") == siret] or matches
    if len(exact) != 1:
        return BuyerInfo(siret=siret, found=False), calls
    summary = exact[0]
    if (summary.statut or "ACTIVE").upper() not in {"ACTIVE", "ACTIF"}:
        inactive = BuyerInfo(
            siret=siret,
            found=True,
            id_structure_cpp=summary.idStructureCPP,
            designation=summary.designationStructure,
            active=False,
        )
        return inactive, calls
    try:
        calls += 1
        detail = api.get_structure(summary.idStructureCPP)
        calls += 1
        services = api.list_services(summary.idStructureCPP)
    except BusinessError as exc:
        return _unknown(siret, exc, summary), calls
    flags = detail.parametres
    info = BuyerInfo(
        siret=siret,
        found=True,
        id_structure_cpp=summary.idStructureCPP,
        designation=summary.designationStructure,
        service_required=flags.codeServiceDoitEtreRenseigne,
        engagement_required=flags.numeroEJDoitEtreRenseigne,
        service_or_engagement=flags.gestionNumeroEJOuCodeService,
        payment_not_reported=flags.statutMiseEnPaiementNestPasRemonte,
    )
    for service in services:
        info.services[service.codeService] = BuyerService(
            buyer_siret=siret,
            id_service=service.idService,
            code=service.codeService,
            label=service.libelleService,
            active=service.estActif,
        )
    return info, calls


def save(engine: Engine, info: BuyerInfo, now: datetime, ttl: timedelta) -> None:
    with Session(engine) as session:
        session.execute(sa.delete(BuyerService).where(col(BuyerService.buyer_siret) == info.siret))
        session.execute(sa.delete(BuyerStructure).where(col(BuyerStructure.siret) == info.siret))
        session.add(
            BuyerStructure(
                siret=info.siret,
                found=info.found,
                id_structure_cpp=info.id_structure_cpp,
                designation=(info.designation or "")[:300] or None,
                active=info.active,
                service_required=info.service_required,
                engagement_required=info.engagement_required,
                service_or_engagement=info.service_or_engagement,
                payment_not_reported=info.payment_not_reported,
                chorus_code=info.chorus_code,
                chorus_label=info.chorus_label,
                fetched_at=now,
                expires_at=now + ttl,
            )
        )
        session.flush()
        for service in info.services.values():
            session.add(
                BuyerService(
                    buyer_siret=info.siret,
                    id_service=service.id_service,
                    code=service.code[:100],
                    label=(service.label or "")[:300] or None,
                    active=service.active,
                    engagement_required=service.engagement_required,
                )
            )
        session.commit()


def service_requires_engagement(
    engine: Engine, api: ChorusProApi, info: BuyerInfo, code: str
) -> tuple[bool, int]:
    """The per-service EJ flag, fetched only for services invoices actually use, then cached."""
    service = info.services[code]
    if service.engagement_required is not None:
        return service.engagement_required, 0
    assert info.id_structure_cpp is not None and service.id_service is not None
    required = api.get_service(info.id_structure_cpp, service.id_service).requires_engagement
    service.engagement_required = required
    with Session(engine) as session:
        session.execute(
            sa.update(BuyerService)
            .where(col(BuyerService.buyer_siret) == info.siret, col(BuyerService.code) == code)
            .values(engagement_required=required)
        )
        session.commit()
    return required, 1


def rules_for(draft: InvoiceDraft, info: BuyerInfo) -> list[Reason]:
    """Chorus Pro's recipient rules, before the per-service engagement flag."""
    siret = info.siret
    service = draft.get("buyer_service_code")
    engagement = draft.get("engagement_number")
    if not info.found:
        answered_fr = answered_en = ""
        if info.chorus_code is not None:
            answered_fr = (
                f" Réponse de Chorus Pro : « {info.chorus_label} » (code {info.chorus_code})."
            )
            answered_en = f" (Chorus Pro: codeRetour {info.chorus_code}: {info.chorus_label})"
        return [
            _reason(
                "buyer.unknown",
                "buyer_siret",
                siret,
                f"Le SIRET client {siret} n'est pas un destinataire connu de Chorus Pro : "
                "vérifiez-le auprès de votre client." + answered_fr,
                f"buyer {siret} is not a Chorus Pro recipient" + answered_en,
            )
        ]
    if not info.active:
        return [
            _reason(
                "buyer.inactive",
                "buyer_siret",
                siret,
                f"La structure {siret} est inactive sur Chorus Pro : demandez à votre client "
                "le SIRET à facturer.",
                f"buyer {siret} is inactive on Chorus Pro",
            )
        ]
    reasons: list[Reason] = []
    if info.service_required and not service:
        reasons.append(
            _reason(
                "buyer.service_required",
                "buyer_service_code",
                None,
                f"Ce client ({info.designation or siret}) exige un code service : demandez-le-lui "
                "et indiquez-le sur la facture.",
                f"buyer {siret} requires a service code",
            )
        )
    if info.engagement_required and not engagement:
        reasons.append(
            _reason(
                "buyer.engagement_required",
                "engagement_number",
                None,
                f"Ce client ({info.designation or siret}) exige un numéro d'engagement (EJ / bon "
                "de commande) : demandez-le-lui et indiquez-le sur la facture.",
                f"buyer {siret} requires an engagement number",
            )
        )
    if info.service_or_engagement and not service and not engagement:
        reasons.append(
            _reason(
                "buyer.service_or_engagement_required",
                "buyer_service_code",
                None,
                f"Ce client ({info.designation or siret}) exige un code service ou un numéro "
                "d'engagement.",
                f"buyer {siret} requires a service code or an engagement number",
            )
        )
    if service:
        known = info.services.get(service)
        if service == RESERVED_SERVICE:
            reasons.append(
                _reason(
                    "service.reserved",
                    "buyer_service_code",
                    service,
                    "Le service FACTURES_PUBLIQUES est réservé aux factures entre entités "
                    "publiques : demandez à votre client son code service.",
                    "service FACTURES_PUBLIQUES is reserved for public-to-public invoices",
                )
            )
        elif known is None:
            reasons.append(
                _reason(
                    "service.unknown",
                    "buyer_service_code",
                    service,
                    f"Le code service {service} n'existe pas chez ce client : vérifiez-le "
                    "auprès de lui.",
                    f"service {service} is not a service of buyer {siret}",
                )
            )
        elif not known.active:
            reasons.append(
                _reason(
                    "service.inactive",
                    "buyer_service_code",
                    service,
                    f"Le service {service} de ce client est inactif : demandez-lui le bon code.",
                    f"service {service} of buyer {siret} is inactive",
                )
            )
    return reasons


def _failure(error: ChorusProError) -> str:
    """What went wrong, for the logs and the accounting alert of a wait that lasts."""
    return f"{type(error).__name__}: {error}"[:500]


def _service_refused(service: str, siret: str, error: BusinessError) -> Reason:
    """Chorus Pro will not describe the service: the invoice names a service it does not know."""
    return _reason(
        "service.unknown",
        "buyer_service_code",
        service,
        f"Le code service {service} n'existe pas chez ce client : vérifiez-le auprès de lui. "
        f"Réponse de Chorus Pro : « {error.libelle} » (code {error.code_retour}).",
        f"service {service} of buyer {siret} refused by Chorus Pro "
        f"(codeRetour {error.code_retour}: {error.libelle})",
    )


def check_buyers(
    engine: Engine,
    api: ChorusProApi,
    drafts: Sequence[InvoiceDraft],
    *,
    ttl: timedelta,
    now: datetime | None = None,
) -> DirectoryResult:
    """Reasons (or a wait) for every draft, asking Chorus Pro at most once per buyer."""
    now = now or utcnow()
    result = DirectoryResult()
    sirets = {d.get("buyer_siret") or "" for d in drafts} - {""}
    buyers = load_cached(engine, sirets, now)
    result.buyers_cached = len(buyers)
    unreachable: dict[str, str] = {}
    for siret in sorted(sirets - set(buyers)):
        try:
            info, calls = fetch_buyer(api, siret)
        except ChorusProError as exc:
            unreachable[siret] = _failure(exc)
            log.warning("directory.unreachable", buyer_siret=siret, error=unreachable[siret])
            continue
        result.api_calls += calls
        result.buyers_fetched += 1
        save(engine, info, now, ttl)
        buyers[siret] = info
    for draft in drafts:
        key = (draft.supplier_siret, draft.invoice_number)
        siret = draft.get("buyer_siret") or ""
        if siret in unreachable:
            result.waiting[key] = [
                _reason(
                    "directory.unavailable",
                    "buyer_siret",
                    siret,
                    "L'annuaire Chorus Pro ne répond pas : la facture sera vérifiée au prochain "
                    "passage, rien à faire de votre côté.",
                    f"Chorus Pro directory unavailable ({unreachable[siret]}); retried next run",
                )
            ]
            continue
        found = buyers.get(siret)
        if found is None:
            continue
        info = found
        reasons = rules_for(draft, info)
        service = draft.get("buyer_service_code")
        if (
            not reasons
            and service
            and service in info.services
            and not draft.get("engagement_number")
        ):
            try:
                required, calls = service_requires_engagement(engine, api, info, service)
            except BusinessError as exc:
                result.api_calls += 1
                result.reasons[key] = [_service_refused(service, siret, exc)]
                continue
            except ChorusProError as exc:
                result.waiting[key] = [
                    _reason(
                        "directory.unavailable",
                        "buyer_service_code",
                        service,
                        "L'annuaire Chorus Pro ne répond pas : la facture sera vérifiée au "
                        "prochain passage, rien à faire de votre côté.",
                        f"Chorus Pro directory unavailable ({_failure(exc)}); retried next run",
                    )
                ]
                continue
            result.api_calls += calls
            if required:
                reasons.append(
                    _reason(
                        "service.engagement_required",
                        "engagement_number",
                        None,
                        f"Le service {service} de ce client exige un numéro d'engagement : "
                        "demandez-le-lui et indiquez-le sur la facture.",
                        f"service {service} of buyer {siret} requires an engagement number",
                    )
                )
        if reasons:
            result.reasons[key] = reasons
    return result
