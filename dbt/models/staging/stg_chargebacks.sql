select
    transaction_id,
    reported_at,
    reported_date,
    reason
from {{ source('silver', 'chargebacks') }}
