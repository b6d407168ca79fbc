"""Sample: a realistic accounting export with real text PDFs and a known share of bad input, for
the demo, the tests and the benchmarks."""

from tasks.sample.export import MANIFEST, generate_export

__all__ = ["MANIFEST", "generate_export"]
