-- The current review's attach rates are computed twice: in segment_economics (from the
-- customer profiles and the allocated contract revenue) and in segment_attach_rates (from
-- the review history and the contracts). They must agree for every segment both have, and
-- every segment_attach_rates row of the review must exist in segment_economics. Rows = failures.
with

economics as (

    select * from {{ ref('segment_economics') }}

),

attach_rates as (

    select * from {{ ref('segment_attach_rates') }}

),

review as (

    select * from {{ ref('int_review_identified') }}

),

current_attach_rates as (

    select attach_rates.*
    from attach_rates
    inner join review
        on attach_rates.review_id = review.review_id

),

final as (

    select
        current_attach_rates.segment_family,
        current_attach_rates.segment
    from current_attach_rates
    left join economics
        on current_attach_rates.segment_family = economics.segment_family
        and current_attach_rates.segment = economics.segment
    where economics.segment is null
        or current_attach_rates.customers <> economics.customers
        or current_attach_rates.contract_customers <> economics.contract_customers
        or {{ amounts_differ('current_attach_rates.contract_revenue', 'economics.contract_revenue') }}
        or coalesce(current_attach_rates.previous_attach_rate, -1) <> coalesce(economics.previous_attach_rate, -1)

)

select * from final
