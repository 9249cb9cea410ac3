{{ config(window_column='event_date') }}

-- One row per silver transaction of the window, with its user and merchant.
select *
from {{ ref('int_transactions_enriched') }}
where {{ in_window('event_date') }}
