"""From an HTTP exchange to either a JSON body or an exception of `chorus_pro.errors`.

This is where the retry policy of the reference (§5.3) is encoded, as a classification of every
failure; the client then only has to retry `TransientError` and never `AmbiguousOutcomeError`.

Whether a failure may have taken effect decides everything for writes:

* surely not applied: connect errors and connect/pool timeouts (no byte left), 429 (the gateway
  throttled it), 408, and 401 (the gateway refused the token); retrying is safe for every call;
* maybe applied: read/write timeouts, a connection dropped after sending, any 5xx including 503.
  A 503 usually comes from PISTE when Chorus is down, but nothing documents that PISTE answers it
  only before forwarding, and a 503 after a partial commit would duplicate an invoice if retried;
  the price of treating it as ambiguous is one search by invoice number, so writes do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from chorus_pro.errors import (
    AmbiguousOutcomeError,
    AuthenticationError,
    BusinessError,
    ForbiddenError,
    TooLargeError,
    TransientError,
    UnexpectedResponseError,
)
from chorus_pro.retry import parse_retry_after

__all__ = [
    "OPERATIONS",
    "Operation",
    "classify_response",
    "classify_transport_error",
    "decode_json",
]

#: Longest piece of a response body quoted in an error message.
BODY_EXCERPT = 300

#: Transport failures raised before any byte of the request was written.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


#: `(operation, codeRetour)` pairs that mean "file too large" (GO doc for `ajouter/fichier`; annex
#: V5.00 via OMNI for `deposer/flux`). Codes are per operation, hence the pairs.
_TOO_LARGE_CODES = frozenset(
    {("transverses/ajouter/fichier", 20003), ("factures/deposer/flux", 20001)}
)


@dataclass(frozen=True)
class Operation:
    """One Chorus Pro operation: where it lives and whether it changes state on Chorus."""

    name: str
    path: str
    method: str = "POST"
    write: bool = False

    @property
    def api(self) -> str:
        """The PISTE API the path belongs to (Factures, Structures, Transverses), for 403 hints."""
        parts = self.path.strip("/").split("/")
        return parts[1].capitalize() if len(parts) > 1 else "?"


def _op(path: str, *, method: str = "POST", write: bool = False) -> Operation:
    name = path.removeprefix("/cpro/").replace("/v1/", "/", 1)
    return Operation(name=name, path=path, method=method, write=write)


#: Every operation the client calls. Uploads are not writes in this sense: a repeated upload only
#: leaves an unreferenced attachment behind, which costs nothing, so they retry like reads.
OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        _op("/cpro/transverses/v1/health-check", method="GET"),
        _op("/cpro/transverses/v1/ajouter/fichier"),
        _op("/cpro/transverses/v1/consulterCRDetaille"),
        _op("/cpro/transverses/v1/recuperer/structures/actives/fournisseur"),
        _op("/cpro/transverses/v1/recuperer/coordbanc/valides"),
        _op("/cpro/factures/v1/soumettre", write=True),
        _op("/cpro/factures/v1/deposer/flux", write=True),
        _op("/cpro/factures/v1/completer", write=True),
        _op("/cpro/factures/v1/recycler", write=True),
        _op("/cpro/factures/v1/traiterRejet", write=True),
        _op("/cpro/factures/v1/rechercher/fournisseur"),
        _op("/cpro/factures/v1/consulter/fournisseur"),
        _op("/cpro/factures/v1/consulter/historique"),
        # A read: it changes nothing on Chorus Pro, so a lost answer is simply asked again.
        _op("/cpro/factures/v1/telecharger/groupe"),
        _op("/cpro/structures/v1/rechercher"),
        _op("/cpro/structures/v1/consulter"),
        _op("/cpro/structures/v1/rechercher/services"),
        _op("/cpro/structures/v1/consulter/service"),
    )
}


def classify_transport_error(exc: httpx.TransportError, operation: Operation) -> TransientError:
    """A network failure as a `TransientError`, or as `AmbiguousOutcomeError` for a sent write."""
    kind = type(exc).__name__
    detail = str(exc) or kind
    if isinstance(exc, _NOT_SENT) or not operation.write:
        return TransientError(f"{operation.name}: {kind}: {detail}", operation=operation.name)
    return AmbiguousOutcomeError(
        f"{operation.name}: {kind} after the request was sent; it may have been applied ({detail})",
        operation=operation.name,
    )


def decode_json(response: httpx.Response) -> Any:
    """The body as JSON, or None when empty or not JSON (gateway pages, empty 401/403 bodies)."""
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _excerpt(response: httpx.Response, scrub: Callable[[str], str]) -> str:
    text = response.text.strip().replace("\n", " ")
    if len(text) > BODY_EXCERPT:
        text = text[:BODY_EXCERPT] + "…"
    return scrub(text)


def _envelope(body: Any) -> tuple[int, str] | None:
    """`(codeRetour, libelle)` when the body is a Chorus envelope; None otherwise."""
    if not isinstance(body, dict) or "codeRetour" not in body:
        return None
    try:
        code = int(body["codeRetour"])
    except (TypeError, ValueError):
        return None
    return code, str(body.get("libelle") or "")


def _raise_refusal(
    found: tuple[int, str] | None,
    operation: Operation,
    status: int,
    scrub: Callable[[str], str],
) -> None:
    """Raises the business refusal an envelope carries, if any."""
    if found is None or found[0] == 0:
        return
    code, libelle = found[0], scrub(found[1])
    if (operation.name, code) in _TOO_LARGE_CODES:
        raise TooLargeError(
            f"{operation.name}: the file is larger than Chorus Pro accepts: codeRetour {code}: "
            f"{libelle}",
            operation=operation.name,
            status_code=status,
            code_retour=code,
            libelle=libelle,
        )
    raise BusinessError(code, libelle, operation.name, status_code=status)


def _forbidden_hint(operation: Operation) -> str:
    return (
        f"PISTE refused the call (HTTP 403). Most often the PISTE application is not subscribed "
        f"to the Chorus Pro {operation.api} API, or the credentials belong to the other "
        f"environment (sandbox vs production): check the application's subscriptions and the "
        f"accepted terms (CGU) on piste.gouv.fr, and that the URLs match the credentials. It also "
        f"happens when the technical account's rights were changed on the Chorus Pro portal."
    )


def classify_response(
    response: httpx.Response,
    operation: Operation,
    *,
    scrub: Callable[[str], str],
    envelope: bool = True,
) -> Any:
    """The decoded JSON body of a successful call; raises the matching error otherwise.

    `scrub` removes secrets from server text quoted in messages. `envelope=False` is for the few
    operations that answer without `codeRetour` (the health check).
    """
    status = response.status_code
    body = decode_json(response)
    name = operation.name

    if 200 <= status < 300:
        if body is None and envelope:
            message = f"{name}: HTTP {status} without a JSON body: {_excerpt(response, scrub)!r}"
            if operation.write:
                raise AmbiguousOutcomeError(
                    message + "; the request may have been applied",
                    operation=name,
                    status_code=status,
                )
            raise UnexpectedResponseError(message, operation=name, status_code=status)
        _raise_refusal(_envelope(body), operation, status, scrub)
        return body

    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if status == 429 or status == 408:
        raise TransientError(
            f"{name}: HTTP {status}, the request was not processed",
            operation=name,
            status_code=status,
            retry_after=retry_after,
        )
    if status >= 500:
        message = f"{name}: HTTP {status}: {_excerpt(response, scrub)!r}"
        if operation.write:
            raise AmbiguousOutcomeError(
                message + "; the request may have been applied",
                operation=name,
                status_code=status,
                retry_after=retry_after,
            )
        raise TransientError(message, operation=name, status_code=status, retry_after=retry_after)

    found = _envelope(body)
    www_authenticate = response.headers.get("WWW-Authenticate")
    if status == 401:
        header = scrub(www_authenticate) if www_authenticate else None
        raise AuthenticationError(
            f"{name}: HTTP 401 even with a fresh token; "
            + (
                "PISTE says the technical account (cpro-account) is refused: check its login "
                "and password, which expire, on the Chorus Pro portal"
                if header and "login or password" in header.lower()
                else "the PISTE token or the technical account is refused"
            )
            + (f" (WWW-Authenticate: {header})" if header else ""),
            operation=name,
            status_code=401,
            www_authenticate=header,
        )
    if status == 403:
        hint = _forbidden_hint(operation)
        raise ForbiddenError(f"{name}: {hint}", operation=name, status_code=403, hint=hint)
    if status == 413:
        raise TooLargeError(
            f"{name}: HTTP 413, larger than Chorus Pro accepts (10 MB per uploaded file, "
            "120 MB per download)",
            operation=name,
            status_code=413,
        )
    _raise_refusal(found, operation, status, scrub)
    detail = _excerpt(response, scrub)
    if www_authenticate:
        detail += f" (WWW-Authenticate: {scrub(www_authenticate)})"
    raise UnexpectedResponseError(
        f"{name}: unexpected HTTP {status}: {detail!r}", operation=name, status_code=status
    )
