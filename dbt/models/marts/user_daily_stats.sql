{{ config(window_column='event_date') }}

-- One row per card holder and event day. Amounts are summed in their own currencies: the
-- source has no exchange rates (distinct_currencies says when a day mixes them).
select
    user_id,
    event_date,
    count(*) as transactions,
    sum(amount) as total_amount,
    avg(amount) as avg_amount,
    max(amount) as max_amount,
    count(distinct merchant_id) as distinct_merchants,
    count(distinct device_id) as distinct_devices,
    count(distinct currency) as distinct_currencies,
    count(case when payment_method = 'online' then 1 end) as online_transactions,
    count(case when is_cross_border then 1 end) as cross_border_transactions,
    max(distance_from_home_km) as max_distance_from_home_km,
    min(event_time) as first_event_time,
    max(event_time) as last_event_time
from {{ ref('fct_transactions') }}
where {{ in_window('event_date') }}
group by user_id, event_date
