-- Each transaction with its card holder and merchant. Left joins: a transaction whose user
-- or merchant is missing from the snapshot is kept (with nulls) and fails the marts'
-- relationships tests instead of silently disappearing.
select
    t.transaction_id,
    t.event_date,
    t.event_time,
    t.user_id,
    t.card_token,
    t.device_id,
    t.amount,
    t.currency,
    t.payment_method,
    t.merchant_id,
    t.merchant_category,
    t.location_lat,
    t.location_lon,
    u.home_country,
    u.risk_segment,
    u.signup_date,
    m.merchant_name,
    m.merchant_country,
    {{ haversine_km('u.home_lat', 'u.home_lon', 't.location_lat', 't.location_lon') }}
        as distance_from_home_km,
    u.home_country <> m.merchant_country as is_cross_border
from {{ ref('stg_transactions') }} as t
left join {{ ref('stg_users') }} as u on t.user_id = u.user_id
left join {{ ref('stg_merchants') }} as m on t.merchant_id = m.merchant_id
