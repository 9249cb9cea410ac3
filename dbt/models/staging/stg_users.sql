select
    user_id,
    home_lat,
    home_lon,
    home_country,
    signup_date,
    risk_segment
from {{ source('silver', 'users') }}
