{{ config(window_column='reported_date') }}

-- Chargebacks by the day they were reported (a label is known from then on), with the
-- transaction they dispute. That transaction is in an earlier or the same window, so it is
-- already in fct_transactions; a chargeback for a transaction that never reached silver
-- keeps nulls (see the warn-level relationships test).
select
    c.transaction_id,
    c.reported_at,
    c.reported_date,
    c.reason,
    t.event_time,
    t.event_date,
    t.user_id,
    t.merchant_id,
    t.amount,
    t.currency,
    c.reported_date - t.event_date as days_to_report
from {{ ref('stg_chargebacks') }} as c
left join {{ ref('fct_transactions') }} as t on c.transaction_id = t.transaction_id
where {{ in_window('c.reported_date') }}
