-- The review this build made, one row per customer: segment_review_history restricted to
-- the current review, with the customer's service plan and contract revenue (attach rate).
-- The semantic layer's default metrics read this model, so a metric queried without a
-- review dimension counts every customer once (the history holds every review, and summing
-- it double-counts).
with

review as (

    select * from {{ ref('int_review_identified') }}

),

history as (

    select * from {{ ref('segment_review_history') }}

),

profiles as (

    select * from {{ ref('int_segment_customers_profiled') }}

),

customer_contract_revenues as (

    select * from {{ ref('int_customer_contract_revenues_aggregated') }}

),

final as (

    select
        history.*,
        -- the service attach rate's inputs (a paid contract running on the review date, and
        -- its revenue in the rolling window), as segment_economics counts them
        profiles.service_plan,
        profiles.service_plan <> 'none' as has_service_contract,
        {{ as_money('coalesce(customer_contract_revenues.rolling_contract_revenue, 0)') }} as rolling_contract_revenue
    from history
    inner join review
        on history.review_id = review.review_id
    inner join profiles
        on history.customer_id = profiles.customer_id
    left join customer_contract_revenues
        on history.customer_id = customer_contract_revenues.customer_id

)

select * from final
