-- Every customer with activity (clean, signed up by the review date) has exactly one value
-- tier and at least one needs segment, and no one else is segmented. Rows = failures.
with

customers as (

    select customer_id from {{ ref('customer_lifetime_profitability') }}

),

memberships as (

    select * from {{ ref('customer_segment_memberships') }}

),

counted as (

    select
        customer_id,
        sum(case when segment_family = 'value_tier' then 1 else 0 end) as value_tiers,
        sum(case when segment_family <> 'value_tier' then 1 else 0 end) as needs_segments
    from memberships
    group by customer_id

),

final as (

    select
        coalesce(customers.customer_id, counted.customer_id) as customer_id,
        coalesce(counted.value_tiers, 0) as value_tiers,
        coalesce(counted.needs_segments, 0) as needs_segments,
        customers.customer_id is null as is_not_a_customer_with_activity
    from customers
    full outer join counted
        on customers.customer_id = counted.customer_id
    where
        customers.customer_id is null
        or coalesce(counted.value_tiers, 0) <> 1
        or coalesce(counted.needs_segments, 0) < 1

)

select * from final
