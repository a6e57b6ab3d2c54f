-- Each costed activity appears once per customer: a duplicate would mean a rate matched
-- twice (overlapping rates) and cost was counted double.
with

activities as (

    select * from {{ ref('int_cost_to_serve_activities_costed') }}

),

final as (

    select
        activity,
        activity_id,
        customer_id,
        count(*) as occurrences
    from activities
    group by
        activity,
        activity_id,
        customer_id
    having count(*) > 1

)

select * from final
