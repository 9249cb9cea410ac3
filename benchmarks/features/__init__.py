"""The feature benchmark: one day's `features/user_features` partition from 8 days of silver.

`python -m benchmarks.run --suite features`; docs/benchmarks.md (workload 2) explains it.
"""
