"""Benchmark scripts (run as `python benchmarks/<script>.py`); what they share is in `benchmarks.common`."""
