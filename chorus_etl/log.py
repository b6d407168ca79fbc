"""structlog set-up: JSON lines (or a console rendering on a TTY), secrets redacted, visible in Prefect.

structlog renders the final string itself and hands it to the stdlib logger `chorus_etl`, which
Prefect ships to its API when `PREFECT_LOGGING_EXTRA_LOGGERS` names it (see docs/prefect.md). Every
module logs through `get_logger(__name__)`, so every event passes the redaction processor.
"""

from __future__ import annotations

import base64
import logging
import os
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import quote, urlsplit

import structlog

from chorus_etl.accounts import AccountsError, load_accounts
from chorus_etl.settings import Settings

ROOT_LOGGER = "chorus_etl"
REDACTED = "***"

#: Keys whose values are secret whatever they contain.
SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "cpro-account",
        "cpro_account",
        "access_token",
        "client_secret",
        "password",
        "piste_client_secret",
        "cpro_password",
        "token",
    }
)

_secrets: list[str] = []


def register_secrets(values: Iterable[str]) -> None:
    """Adds values that must never be written; the longest first so substrings don't leak tails."""
    merged = {v for v in [*_secrets, *values] if v and len(v) >= 4}
    _secrets[:] = sorted(merged, key=len, reverse=True)


def secrets_of(settings: Settings) -> list[str]:
    """The clear secrets, passwords inside URLs, and wire forms (`cpro-account` is base64)."""
    values = settings.secret_values()
    for url in [settings.database_url, *settings.alert_urls]:
        password = urlsplit(url).password
        if password:
            values.extend({password, quote(password, safe="")})
    pairs = set()
    if settings.cpro_login and settings.cpro_password:
        pairs.add((settings.cpro_login, settings.cpro_password.get_secret_value()))
    try:
        accounts = load_accounts(settings)
    except AccountsError:
        return values  # an unreadable accounts file: `doctor` says why; it holds no secret
    values += accounts.secret_values()
    for siret in accounts.sirets():
        try:
            account = accounts.account(siret)
        except AccountsError:
            continue
        pairs.add((account.login, account.password.get_secret_value()))
    for login, password in sorted(pairs):
        pair = f"{login}:{password}"
        values.append(base64.b64encode(pair.encode("utf-8")).decode("ascii"))
    return values


def redact_text(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _redact_value(key: str | None, value: Any) -> Any:
    if key is not None and key.lower() in SENSITIVE_KEYS:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(None, v) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact_text(str(value))


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor; runs after exceptions are formatted so tracebacks are covered too."""
    for key in list(event_dict):
        event_dict[key] = _redact_value(key, event_dict[key])
    return event_dict


class RedactingFilter(logging.Filter):
    """Scrubs secrets from records of other libraries (Prefect, httpx) before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _secrets:
            message = record.getMessage()
            cleaned = redact_text(message)
            if cleaned != message or record.args:
                record.msg, record.args = cleaned, None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True


class _BoundLogger(structlog.stdlib.BoundLogger):
    """Sends `.exception()` to stdlib as `error`: structlog already rendered (and redacted) the
    traceback, and stdlib's `Logger.exception` would append a second, unredacted copy."""

    def exception(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        kw.setdefault("exc_info", True)
        return self._proxy_to_logger("error", event, *args, **kw)


def _use_console(fmt: str, stream: Any) -> bool:
    if fmt == "console":
        return True
    if fmt == "json":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def configure_logging(settings: Settings, *, stream: Any = None) -> None:
    """Configures structlog and the `chorus_etl` stdlib logger. Safe to call more than once."""
    register_secrets(secrets_of(settings))
    stream = stream or (sys.stderr if settings.log_stream == "stderr" else sys.stdout)
    console = _use_console(settings.log_format, stream)
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=stream.isatty())
        if console
        else structlog.processors.JSONRenderer(ensure_ascii=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_processor,
            renderer,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=_BoundLogger,
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger(ROOT_LOGGER)
    root.setLevel(settings.log_level.upper())
    root.propagate = False
    for handler in [h for h in root.handlers if getattr(h, "_chorus_etl", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler._chorus_etl = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    _install_filters()
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", ROOT_LOGGER)


def _install_filters() -> None:
    """Adds the redacting filter to every handler that could print or ship a record."""
    loggers = [logging.getLogger(), logging.getLogger(ROOT_LOGGER)]
    loggers += [logging.getLogger(name) for name in ("prefect", "httpx", "httpcore", "uvicorn")]
    loggers += [
        logging.getLogger(name)
        for name in list(logging.root.manager.loggerDict)
        if name.startswith("prefect")
    ]
    for logger in loggers:
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A logger under `chorus_etl.`, whatever package the caller lives in."""
    suffix = name if name.startswith(ROOT_LOGGER) else f"{ROOT_LOGGER}.{name}"
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(suffix)
    return logger
