"""Benchmarks at realistic scale (not part of the test suite): see docs/benchmarks.md."""
