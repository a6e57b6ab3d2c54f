-- Point-in-time: no costed activity, order line or acquisition is dated after the review date.
with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

activities as (

    select * from {{ ref('int_cost_to_serve_activities_costed') }}

),

order_lines as (

    select * from {{ ref('int_order_lines_priced') }}

),

acquisition_costs as (

    select * from {{ ref('int_acquisition_costs_allocated') }}

),

dated as (

    select 'activity' as fact, activity_date as fact_date from activities
    union all
    select 'order_line' as fact, ordered_date as fact_date from order_lines
    union all
    select 'acquisition' as fact, acquisition_date as fact_date from acquisition_costs

),

final as (

    select
        dated.fact,
        dated.fact_date,
        review_parameters.review_date
    from dated
    cross join review_parameters
    where dated.fact_date > review_parameters.review_date

)

select * from final
