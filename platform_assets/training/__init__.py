"""Training: labels known at a cutoff, point-in-time training sets from Feast, models in MLflow."""
