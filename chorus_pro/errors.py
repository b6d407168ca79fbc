"""Every way a Chorus Pro call can fail, as one exception tree the pipeline can branch on.

The tree answers the two questions a caller has after a failure: "may I try again?" and "could
the call have taken effect?". `TransientError` says yes to the first; `AmbiguousOutcomeError` says
"maybe" to the second, which for a write means: look the invoice up before sending it again, since
Chorus Pro has no idempotency key. Everything else is permanent until a person changes something.

Messages are built only from what the server said and from our own wording, never from request
headers, so no credential can end up in a message, a repr, or a log line that formats one.
"""

from __future__ import annotations

__all__ = [
    "AmbiguousOutcomeError",
    "AuthenticationError",
    "BusinessError",
    "ChorusProError",
    "ForbiddenError",
    "TooLargeError",
    "TransientError",
    "UnexpectedResponseError",
]


class ChorusProError(Exception):
    """Base of every error raised by the Chorus Pro client."""

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.status_code = status_code

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, operation={self.operation!r}, "
            f"status_code={self.status_code!r})"
        )


class TransientError(ChorusProError):
    """Worth trying again later: the network, the gateway or Chorus itself was unavailable.

    `retry_after` carries the server's `Retry-After` in seconds when it sent one (429, 503), so a
    caller that gives up now can still schedule the next attempt no sooner than asked.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, operation=operation, status_code=status_code)
        self.retry_after = retry_after


class AmbiguousOutcomeError(TransientError):
    """A write failed after the request may have reached Chorus Pro, so it may have been applied.

    Raised only by operations that create or change something on Chorus (`soumettre`,
    `deposer/flux`, `completer`, `recycler`, `traiterRejet`), and never retried by the client:
    resending blindly could deposit an invoice twice. The caller resolves it by searching for the
    invoice by number (or the flux by its number) and only resends if nothing is there.
    """


class AuthenticationError(ChorusProError):
    """The credentials were refused; retrying cannot help until someone fixes them.

    Raised for the OAuth `invalid_client` answer and for a 401 that survives one token refresh.
    `www_authenticate` keeps the gateway's header verbatim because the 401 body is empty and the
    header is the only thing telling a bad technical account from a bad token.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        status_code: int | None = None,
        www_authenticate: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation, status_code=status_code)
        self.www_authenticate = www_authenticate

    @property
    def technical_account_refused(self) -> bool:
        """True when PISTE says the `cpro-account` login or password is wrong (or has expired)."""
        return "login or password" in (self.www_authenticate or "").lower()


class ForbiddenError(ChorusProError):
    """HTTP 403: the PISTE application may not call this API in this environment."""

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        status_code: int | None = 403,
        hint: str = "",
    ) -> None:
        super().__init__(message, operation=operation, status_code=status_code)
        self.hint = hint


class BusinessError(ChorusProError):
    """Chorus Pro refused the request on its merits (`codeRetour != 0`); it will refuse it again.

    Chorus reports these with HTTP 200 or with HTTP 400 depending on the operation, so both end
    here. `code_retour` and `libelle` are kept verbatim: the same number means different things per
    operation, and the label is what a person needs to fix the invoice.
    """

    def __init__(
        self,
        code_retour: int,
        libelle: str,
        operation: str,
        *,
        status_code: int | None = None,
    ) -> None:
        super().__init__(
            f"Chorus Pro refused {operation}: codeRetour {code_retour}: {libelle}",
            operation=operation,
            status_code=status_code,
        )
        self.code_retour = code_retour
        self.libelle = libelle

    def __reduce__(self) -> tuple[object, ...]:
        # Lets the error cross process boundaries (Prefect, multiprocessing) with its fields.
        return (
            _rebuild_business_error,
            (self.code_retour, self.libelle, self.operation, self.status_code),
        )


class TooLargeError(ChorusProError):
    """The file exceeds what Chorus accepts (10 MB per file, 120 MB per invoice or download).

    Raised for HTTP 413 and for the size refusals some operations report in the envelope instead
    (`code_retour` and `libelle` are then set), so a caller handles "shrink or split the file"
    in one place whichever way Chorus said it.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        status_code: int | None = 413,
        code_retour: int | None = None,
        libelle: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation, status_code=status_code)
        self.code_retour = code_retour
        self.libelle = libelle


class UnexpectedResponseError(ChorusProError):
    """An answer the API contract does not describe: unknown status, or a body that is not JSON.

    Not retried: it points at a client/server mismatch (wrong URL, gateway page, new API version)
    that repeating the call would only hide.
    """


def _rebuild_business_error(
    code_retour: int, libelle: str, operation: str | None, status_code: int | None
) -> BusinessError:
    return BusinessError(code_retour, libelle, operation or "", status_code=status_code)
