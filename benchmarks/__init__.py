"""Benchmark scripts, each run as a module from the repository root: ``python -m benchmarks.<name>``."""
