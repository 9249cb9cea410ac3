select
    merchant_id,
    merchant_name,
    merchant_category as merchant_registered_category,
    merchant_lat,
    merchant_lon,
    merchant_country
from {{ source('silver', 'merchants') }}
