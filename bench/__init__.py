"""Benchmarks that start a real Parta server and print one JSON document.

Run ``python -m bench.core --help``; docs/performance.md explains the figures.
"""
