"""Benchmarks: each module runs one and prints its figures (`python -m bench.<name>`)."""
