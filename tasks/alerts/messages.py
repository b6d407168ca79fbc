"""The French messages people receive: what happened to which invoice, and what to do now.

Plain functions returning (subject, body), so they are tested without a mail server and the outbox
stores exactly what will be sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from chorus_etl.french import format_euros


@dataclass(frozen=True, slots=True)
class InvoiceFacts:
    """What a message says about an invoice; built from the warehouse row."""

    invoice_number: str
    supplier_siret: str
    buyer_name: str | None
    buyer_siret: str | None
    total_ttc_cents: int
    entrepreneur_name: str | None
    chorus_invoice_id: int | None = None
    deposit_date: date | None = None


def french_date(value: date | datetime | None) -> str:
    if value is None:
        return "date inconnue"
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y à %H:%M")
    return value.strftime("%d/%m/%Y")


def _facts_block(facts: InvoiceFacts) -> list[str]:
    buyer = facts.buyer_name or "client inconnu"
    if facts.buyer_siret:
        buyer += f" (SIRET {facts.buyer_siret})"
    lines = [
        f"Facture : {facts.invoice_number}",
        f"Client : {buyer}",
        f"Montant TTC : {format_euros(facts.total_ttc_cents)}",
    ]
    if facts.chorus_invoice_id:
        lines.append(f"Identifiant Chorus Pro : {facts.chorus_invoice_id}")
    if facts.deposit_date:
        lines.append(f"Déposée le : {french_date(facts.deposit_date)}")
    return lines


def _greeting(facts: InvoiceFacts) -> str:
    return f"Bonjour {facts.entrepreneur_name}," if facts.entrepreneur_name else "Bonjour,"


SIGNATURE = [
    "",
    "Ce message est envoyé automatiquement par le service comptable de Cooproduction.",
    "Pour toute question, répondez à ce message ou contactez votre chargé d'accompagnement.",
]


def deposit_refused(facts: InvoiceFacts, code: str | None, label: str | None) -> tuple[str, str]:
    subject = f"Facture {facts.invoice_number} refusée au dépôt sur Chorus Pro"
    body = [
        _greeting(facts),
        "",
        "Chorus Pro a refusé le dépôt de votre facture : elle n'a pas été transmise à votre client.",
        "",
        *_facts_block(facts),
        f"Motif donné par Chorus Pro : {label or 'non précisé'}"
        + (f" (code {code})" if code else ""),
        "",
        "Que faire ?",
        "Corrigez la facture selon le motif ci-dessus (SIRET du client, code service, numéro "
        "d'engagement, montants…) puis transmettez-la corrigée au service comptable, qui la "
        "redéposera. La facture ne sera pas redéposée automatiquement tant qu'elle n'est pas corrigée.",
        *SIGNATURE,
    ]
    return subject, "\n".join(body)


@dataclass(frozen=True, slots=True)
class OtherInvoice:
    """The invoice Chorus Pro holds under one of our numbers, as the conflict alert shows it."""

    chorus_invoice_id: int
    deposit_date: date | None
    deposit_mode: str | None
    #: (field, ours, theirs) for each field on which the two disagree.
    differences: tuple[tuple[str, str, str], ...]


_FIELD_LABELS = {
    "supplier": "fournisseur",
    "number": "numéro",
    "buyer_siret": "SIRET du client",
    "total_ttc": "montant TTC (€)",
    "type": "type de facture",
    "invoice_date": "date de facture",
}


def _other_lines(other: OtherInvoice) -> list[str]:
    lines = [
        f"Facture déjà présente sur Chorus Pro : identifiant {other.chorus_invoice_id}, "
        f"déposée le {french_date(other.deposit_date)}"
        + (f" (mode {other.deposit_mode})" if other.deposit_mode else ""),
    ]
    lines += [
        f"- {_FIELD_LABELS.get(name, name)} : chez nous {ours or '(vide)'}, "
        f"sur Chorus Pro {theirs or '(vide)'}"
        for name, ours, theirs in other.differences
    ]
    return lines


def number_conflict_reason(facts: InvoiceFacts, other: OtherInvoice) -> str:
    """The reason stored on the invoice (shown by `chorus-etl invoice` and the dashboards)."""
    return " ".join(
        [
            f"Le numéro {facts.invoice_number} est déjà utilisé sur Chorus Pro par une autre "
            f"facture (identifiant {other.chorus_invoice_id}) :",
            "; ".join(
                f"{_FIELD_LABELS.get(name, name)} {ours or '(vide)'} chez nous, "
                f"{theirs or '(vide)'} sur Chorus Pro"
                for name, ours, theirs in other.differences
            )
            + ".",
            "Elle n'est pas redéposée : le service comptable décide.",
        ]
    )


def number_conflict(facts: InvoiceFacts, other: OtherInvoice) -> tuple[str, str]:
    """For accounting: a number of ours is taken on Chorus Pro by an invoice that is not ours."""
    subject = f"Facture {facts.invoice_number} : numéro déjà utilisé sur Chorus Pro"
    body = [
        "Bonjour,",
        "",
        f"La facture {facts.invoice_number} n'a pas été déposée : Chorus Pro a déjà une facture "
        "sous ce numéro pour cette structure, et ce n'est pas la même.",
        "",
        "Notre facture :",
        *_facts_block(facts),
        f"Structure (SIRET) : {facts.supplier_siret}",
        "",
        *_other_lines(other),
        "",
        "Que faire ?",
        "- Si la facture présente sur Chorus Pro est bien celle-ci (déposée à la main avec d'autres "
        "données), rien ne sera envoyé : vérifiez-la sur le portail et corrigez-la par un avoir "
        "si nécessaire.",
        "- Sinon, donnez à notre facture un nouveau numéro (Chorus Pro refuse un numéro déjà "
        "utilisé) et déposez-la de nouveau dans un export.",
        "La facture reste à l'état « conflit » et ne sera jamais redéposée automatiquement.",
        *SIGNATURE,
    ]
    return subject, "\n".join(body)


_STATUS_TEXT = {
    "REJETEE": (
        "a été rejetée par votre client",
        "Une facture rejetée ne peut pas être corrigée ni redéposée sous le même numéro. Émettez un "
        "avoir qui annule cette facture, puis une nouvelle facture corrigée (nouveau numéro), et "
        "transmettez-les au service comptable pour dépôt.",
    ),
    "SUSPENDUE": (
        "a été suspendue par votre client",
        "Le client attend des pièces ou informations complémentaires (voir le motif). Envoyez-les "
        "au service comptable : la facture sera complétée sur Chorus Pro (action « Compléter »). "
        "Sans réponse, elle ne sera pas payée.",
    ),
    "A_RECYCLER": (
        "est à recycler",
        "Les données d'acheminement sont erronées (SIRET du destinataire, code service ou numéro "
        "d'engagement). Demandez à votre client les bonnes références et transmettez-les au service "
        "comptable : la facture sera recyclée sur Chorus Pro avec les données corrigées.",
    ),
}


def status_alert(
    facts: InvoiceFacts, status: str, at: datetime, comment: str | None
) -> tuple[str, str]:
    what, todo = _STATUS_TEXT.get(
        status, (f"a changé de statut ({status})", "Consultez la facture sur Chorus Pro.")
    )
    subject = f"Facture {facts.invoice_number} {what} ({facts.buyer_name or 'client'})"
    body = [
        _greeting(facts),
        "",
        f"Votre facture {what} sur Chorus Pro.",
        "",
        *_facts_block(facts),
        f"Statut : {status} depuis le {french_date(at)}",
        f"Commentaire de Chorus Pro / du client : {comment or 'aucun'}",
        "",
        "Que faire ?",
        todo,
        *SIGNATURE,
    ]
    return subject, "\n".join(body)


def payment_overdue(
    facts: InvoiceFacts,
    delay_days: int,
    due: date,
    days_late: int,
    interest_cents: int,
    indemnity_cents: int,
    rate_percent: float,
) -> tuple[str, str]:
    subject = f"Facture {facts.invoice_number} non payée après {delay_days} jours"
    body = [
        _greeting(facts),
        "",
        f"Votre facture n'a pas été mise en paiement dans le délai légal de {delay_days} jours "
        "suivant son dépôt sur Chorus Pro.",
        "",
        *_facts_block(facts),
        f"Échéance légale : {french_date(due)} ({days_late} jours de retard)",
        "",
        "Ce que la loi prévoit : des intérêts moratoires au taux de la BCE majoré de 8 points "
        f"({rate_percent:.2f} %), soit environ {format_euros(interest_cents)} à ce jour, et une indemnité "
        f"forfaitaire pour frais de recouvrement de {format_euros(indemnity_cents)}.",
        "",
        "Que faire ?",
        "Relancez votre client (service destinataire de la facture) en rappelant la date de dépôt "
        "sur Chorus Pro ; le service comptable peut vous aider à réclamer les intérêts moratoires.",
        *SIGNATURE,
    ]
    return subject, "\n".join(body)


def password_expiring(structure: str, expires_on: date, days_left: int) -> tuple[str, str]:
    subject = f"Mot de passe du compte technique Chorus Pro de {structure} : expire dans {days_left} jours"
    body = [
        "Bonjour,",
        "",
        f"Le mot de passe du compte technique Chorus Pro de la structure {structure} expire le "
        f"{french_date(expires_on)}. Après cette date, plus aucune facture ne pourra être déposée "
        "ni suivie automatiquement.",
        "",
        "Que faire ?",
        "Le gestionnaire principal de la structure doit se connecter au portail Chorus Pro, "
        "renouveler le mot de passe du compte technique (Raccordements > comptes techniques), puis "
        "mettre à jour CHORUS_ETL_CPRO_PASSWORD dans la configuration du pipeline.",
        *SIGNATURE,
    ]
    return subject, "\n".join(body)


#: What the accounting of a cooperative does about a refused access, by kind of refusal.
_ACCESS_STEPS = {
    "account": [
        "1. Le gestionnaire principal de la structure se connecte au portail Chorus Pro et vérifie "
        "le compte technique {login} (Raccordements > comptes techniques) : actif, rattaché à la "
        "structure, mot de passe non expiré (le renouveler au besoin).",
        "2. Mettre à jour le secret {password_from} du pipeline (variable d'environnement ou "
        "fichier de secrets) avec le nouveau mot de passe.",
    ],
    "application": [
        "1. Vérifier sur PISTE (piste.gouv.fr) que l'application {app_id} est active, que son "
        "secret n'a pas été renouvelé et qu'elle est abonnée aux API Chorus Pro (Factures, "
        "Structures, Transverses).",
        "2. Mettre à jour le secret {client_secret_from} du pipeline si l'application a un "
        "nouveau secret.",
    ],
    "configuration": [
        "1. Renseigner le secret manquant ({detail}) dans l'environnement du pipeline ou dans "
        "son dossier de secrets.",
    ],
}


@dataclass(frozen=True, slots=True)
class AccessFacts:
    """Which structures lost their Chorus Pro access, through which account, and why."""

    sirets: tuple[str, ...]
    cooperative_name: str
    login: str
    app_id: str
    password_from: str
    client_secret_from: str
    kind: str
    detail: str


def access_refused(facts: AccessFacts, stage: str) -> tuple[str, str]:
    """`kind` is account (technical account refused), application (PISTE) or configuration."""
    structures = ", ".join(facts.sirets)
    subject = f"Chorus Pro : accès refusé pour {structures} ({facts.cooperative_name})"
    steps = [
        line.format(
            login=facts.login,
            password_from=facts.password_from,
            app_id=facts.app_id,
            client_secret_from=facts.client_secret_from,
            detail=facts.detail,
        )
        for line in _ACCESS_STEPS.get(facts.kind, _ACCESS_STEPS["account"])
    ]
    body = [
        "Bonjour,",
        "",
        f"Chorus Pro a refusé l'accès du pipeline pendant le {stage} des structures {structures} "
        f"(compte technique {facts.login}).",
        f"Détail technique : {facts.detail}",
        "",
        "Conséquence : les factures de ces structures restent « prêtes » et ne sont ni déposées "
        "ni suivies tant que l'accès n'est pas rétabli. Les autres structures ne sont pas "
        "concernées.",
        "",
        "Que faire ?",
        *steps,
        f"{len(steps) + 1}. Lancer « chorus-etl doctor » pour vérifier l'accès : le passage "
        "suivant déposera ces factures, une seule fois chacune.",
        *SIGNATURE,
    ]
    return subject, "\n".join(body)


# --- returned invoices answered (tasks/returns) -------------------------------------------------

_ROUTING_LABELS = (
    ("buyer_siret", "SIRET du destinataire"),
    ("buyer_service_code", "code service"),
    ("engagement_number", "numéro d'engagement"),
)


def invoice_completed(
    facts: InvoiceFacts, files: list[str], comment: str | None
) -> tuple[str, str]:
    """A suspended invoice was completed on Chorus Pro (`completer`)."""
    subject = f"Facture {facts.invoice_number} complétée sur Chorus Pro"
    body = [
        _greeting(facts),
        "",
        "Les compléments demandés par votre client ont été transmis sur Chorus Pro (action "
        "« Compléter ») : la facture n'est plus suspendue.",
        "",
        *_facts_block(facts),
        "Pièces jointes envoyées : " + (", ".join(files) if files else "aucune"),
        f"Commentaire envoyé : {comment or 'aucun'}",
        "",
        "Et maintenant ?",
        "Votre client reprend le traitement de la facture et le délai de paiement court de "
        "nouveau. Vous serez prévenu(e) si elle est de nouveau suspendue ou rejetée.",
        *SIGNATURE,
    ]
    return subject, "\n".join(body)


def invoice_recycled(
    facts: InvoiceFacts,
    before: dict[str, str | None],
    after: dict[str, str | None],
    note: str | None,
) -> tuple[str, str]:
    """An invoice to recycle was sent again with its corrected routing (`recycler`)."""
    subject = f"Facture {facts.invoice_number} recyclée sur Chorus Pro"
    changes = [
        f"- {label} : {before.get(name) or '(vide)'} → {after.get(name) or '(vide)'}"
        for name, label in _ROUTING_LABELS
        if (before.get(name) or None) != (after.get(name) or None)
    ]
    body = [
        _greeting(facts),
        "",
        "La facture a été recyclée sur Chorus Pro avec les données d'acheminement corrigées "
        "(action « Recycler ») : elle est de nouveau déposée et acheminée vers votre client.",
        "",
        *_facts_block(facts),
        "Corrections :",
        *(changes or ["- aucune (mêmes données, envoyées de nouveau)"]),
    ]
    if note:
        body += ["", f"Attention : {note}"]
    body += [
        "",
        "Et maintenant ?",
        "Rien à faire : la facture suit de nouveau son cours. Vous serez prévenu(e) de la suite.",
        *SIGNATURE,
    ]
    return subject, "\n".join(body)


def return_refused(
    facts: InvoiceFacts, kind: str, code: str, label: str, *, answered: bool
) -> tuple[str, str]:
    """A completion or recycling was refused, by Chorus Pro (`answered`) or before sending."""
    action = "le complément" if kind == "complete" else "le recyclage"
    who = "Chorus Pro a refusé" if answered else "Le pipeline n'a pas envoyé"
    subject = f"Facture {facts.invoice_number} : {action} n'a pas abouti"
    body = [
        _greeting(facts),
        "",
        f"{who} {action} de cette facture.",
        "",
        *_facts_block(facts),
        f"Motif : {label}" + (f" (code {code})" if code else ""),
        "",
        "Que faire ?",
        "Vérifiez l'état de la facture (« chorus-etl invoice "
        f"{facts.invoice_number} » ou le portail Chorus Pro). Si elle attend encore une "
        "action de votre part, corrigez ce que dit le motif et transmettez de nouveau au "
        "service comptable ; une facture rejetée se corrige par un avoir et une nouvelle "
        "facture.",
        *SIGNATURE,
    ]
    return subject, "\n".join(body)
