-- customer_entitlement_gaps has at most one row per customer and gap type.
select
    customer_id,
    gap_type,
    count(*) as rows_per_gap
from {{ ref('customer_entitlement_gaps') }}
group by customer_id, gap_type
having count(*) > 1
