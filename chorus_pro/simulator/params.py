"""Reading typed values out of a JSON body, refusing what Chorus would refuse.

Chorus is strict about JSON types (a peer found amounts sent as strings were refused), so these
helpers do not coerce: a number must be a JSON number, an id a JSON integer. Every refusal is the
generic "missing or invalid parameter" business error naming the field.
"""

from __future__ import annotations

from typing import Any

from chorus_pro.simulator import codes
from chorus_pro.simulator.codes import BusinessError

__all__ = [
    "get_bool",
    "get_int",
    "get_list",
    "get_number",
    "get_object",
    "get_str",
    "page_request",
]


def _invalid(field: str) -> BusinessError:
    return codes.INVALID_PARAMETER(field=field)


def get_object(body: dict[str, Any], key: str, *, required: bool = False) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        if required:
            raise _invalid(key)
        return {}
    if not isinstance(value, dict):
        raise _invalid(key)
    return value


def get_list(body: dict[str, Any], key: str) -> list[Any]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _invalid(key)
    return value


def get_str(
    body: dict[str, Any], key: str, *, required: bool = False, field: str | None = None
) -> str | None:
    """A string; empty or blank counts as absent, as in Chorus' optional codes."""
    value = body.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _invalid(field or key)
        return None
    if not isinstance(value, str):
        raise _invalid(field or key)
    return value


def get_int(
    body: dict[str, Any], key: str, *, required: bool = False, field: str | None = None
) -> int | None:
    value = body.get(key)
    if value is None:
        if required:
            raise _invalid(field or key)
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(field or key)
    return value


def get_number(
    body: dict[str, Any], key: str, *, required: bool = False, field: str | None = None
) -> float | None:
    value = body.get(key)
    if value is None:
        if required:
            raise _invalid(field or key)
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(field or key)
    return float(value)


def get_bool(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise _invalid(key)
    return value


def page_request(
    body: dict[str, Any],
    key: str,
    *,
    default_size: int,
    max_size: int,
    page_field: str = "pageResultatDemandee",
    size_field: str = "nbResultatsParPage",
) -> tuple[int, int, dict[str, Any]]:
    """(page, page size, the raw pagination object); sizes above the maximum are capped."""
    params = get_object(body, key)
    page = get_int(params, page_field, field=f"{key}.{page_field}") or 1
    size = get_int(params, size_field, field=f"{key}.{size_field}") or default_size
    if page < 1:
        raise _invalid(f"{key}.{page_field}")
    if size < 1:
        raise _invalid(f"{key}.{size_field}")
    return page, min(size, max_size), params


def paginate(items: list[Any], page: int, size: int) -> tuple[list[Any], dict[str, int]]:
    """The requested page and `parametresRetour`; `pages` is at least 1, even with no result."""
    total = len(items)
    pages = max(1, -(-total // size))
    start = (page - 1) * size
    return items[start : start + size], {
        "pageCourante": page,
        "pages": pages,
        "nbResultatsParPage": size,
        "total": total,
    }
