-- segment_review_history has one row per review_id and customer_id.
select
    review_id,
    customer_id,
    count(*) as rows_per_review_and_customer
from {{ ref('segment_review_history') }}
group by
    review_id,
    customer_id
having count(*) > 1
