-- A customer is in exactly one segment of each family (families partition the customers,
-- which segment_economics' shares rely on). Rows = customer and family with several.
with

memberships as (

    select * from {{ ref('customer_segment_memberships') }}

),

final as (

    select
        customer_id,
        segment_family,
        count(*) as segments
    from memberships
    group by
        customer_id,
        segment_family
    having count(*) <> 1

)

select * from final
