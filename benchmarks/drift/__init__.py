"""Workload 5: the drift report (`python -m benchmarks.run --suite drift`)."""
