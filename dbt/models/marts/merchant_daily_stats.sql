{{ config(window_column='event_date') }}

-- One row per merchant and event day (amounts in their own currencies, as for users).
select
    merchant_id,
    event_date,
    count(*) as transactions,
    count(distinct user_id) as distinct_users,
    count(distinct card_token) as distinct_cards,
    sum(amount) as total_amount,
    avg(amount) as avg_amount,
    max(amount) as max_amount,
    count(case when payment_method = 'online' then 1 end) as online_transactions,
    count(case when is_cross_border then 1 end) as cross_border_transactions
from {{ ref('fct_transactions') }}
where {{ in_window('event_date') }}
group by merchant_id, event_date
