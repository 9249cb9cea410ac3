"""The entities features are keyed by: the card holder and the merchant of a payment."""

from feast import Entity, ValueType

user = Entity(
    name="user",
    join_keys=["user_id"],
    value_type=ValueType.STRING,
    description="A card holder (silver `users.user_id`).",
)

merchant = Entity(
    name="merchant",
    join_keys=["merchant_id"],
    value_type=ValueType.STRING,
    description="A merchant accepting card payments (silver `merchants.merchant_id`).",
)
