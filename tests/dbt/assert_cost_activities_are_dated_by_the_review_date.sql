-- Point-in-time: no costed activity, purchase day or acquisition is dated after the review date.
with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

activities as (

    select * from {{ ref('int_cost_to_serve_activities_costed') }}

),

purchase_days as (

    select * from {{ ref('int_customer_purchase_days_aggregated') }}

),

acquisition_costs as (

    select * from {{ ref('int_acquisition_costs_allocated') }}

),

dated as (

    select
        'activity' as fact,
        activity_date as fact_date
    from activities
    union all
    select
        'purchase_day' as fact,
        purchase_date as fact_date
    from purchase_days
    union all
    select
        'acquisition' as fact,
        acquisition_date as fact_date
    from acquisition_costs

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
