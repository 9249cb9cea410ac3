"""Benchmarks of the platform against the peers a user would otherwise use.

Run them with `make bench` (`python -m benchmarks.run`); docs/benchmarks.md explains the
contenders and the latest results. Nothing here is part of the test suite.
"""
