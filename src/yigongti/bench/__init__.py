"""Benchmarks behind ``ygt bench NAME --json``: each measures a reference in the same run."""
