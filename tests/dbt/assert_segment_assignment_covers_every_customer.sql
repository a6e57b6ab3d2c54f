-- customer_service_assignment has exactly one row per customer with activity (the
-- unique test catches duplicates; this catches missing and extra customers).
with

customers as (

    select customer_id from {{ ref('customer_lifetime_profitability') }}

),

assignments as (

    select * from {{ ref('customer_service_assignment') }}

),

final as (

    select
        coalesce(customers.customer_id, assignments.customer_id) as customer_id,
        customers.customer_id is null as is_extra,
        assignments.customer_id is null as is_missing
    from customers
    full outer join assignments
        on customers.customer_id = assignments.customer_id
    where
        customers.customer_id is null
        or assignments.customer_id is null

)

select * from final
