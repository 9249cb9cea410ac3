"""Monitoring: data drift, training-serving skew, model performance, freshness."""
