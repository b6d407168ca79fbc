"""Sample: a realistic accounting export with real text PDFs and a known share of bad input, for
the demo, the tests and the benchmarks."""

from collections.abc import Callable

from tasks.sample.caerp import generate_caerp_export
from tasks.sample.export import MANIFEST, generate_export

#: The sample export's layouts: the export contract's own, or CAERP's (the same invoices).
LAYOUTS: dict[str, Callable[..., dict[str, object]]] = {
    "contract": generate_export,
    "caerp": generate_caerp_export,
}

__all__ = ["LAYOUTS", "MANIFEST", "generate_caerp_export", "generate_export"]
