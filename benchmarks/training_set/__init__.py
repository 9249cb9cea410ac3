"""Workload 4: the point-in-time training set (`python -m benchmarks.run --suite training`)."""
