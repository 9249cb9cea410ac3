-- Silver transactions without the lineage columns; every day (marts pick their window).
select
    transaction_id,
    user_id,
    card_token,
    amount,
    currency,
    merchant_id,
    merchant_category,
    location_lat,
    location_lon,
    payment_method,
    device_id,
    event_time,
    event_date
from {{ source('silver', 'transactions') }}
