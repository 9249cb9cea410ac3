"""One feature service per model version: a model is trained and served with exactly one."""

from feast import FeatureService

from feature_views import merchant_features, user_features
from on_demand_views import transaction_context

fraud_model_v1 = FeatureService(
    name="fraud_model_v1",
    features=[user_features, merchant_features[["merchant_fraud_rate_30d"]]],
    description="Baseline: user behaviour windows and the merchant's known fraud rate.",
    tags={"model": "fraud_classifier", "version": "1"},
)

fraud_model_v2 = FeatureService(
    name="fraud_model_v2",
    features=[user_features, merchant_features, transaction_context],
    description="v1 plus merchant traffic and the request-time context of the payment.",
    tags={"model": "fraud_classifier", "version": "2"},
)
