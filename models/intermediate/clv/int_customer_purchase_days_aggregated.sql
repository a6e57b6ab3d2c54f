-- One row per customer and day with at least one completed order line (clean line, clean
-- product) on or before the review date: the purchase "events" the buy-till-you-die models
-- count. Several orders on one day are one purchase (the models count repeat purchase
-- periods; the period here is a day). Value = gross margin. Read from the compact
-- customer-day rows of int_customer_order_days_aggregated.
with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

order_days as (

    select * from {{ ref('int_customer_order_days_aggregated') }}

),

final as (

    select
        order_days.customer_id,
        order_days.ordered_date as purchase_date,
        order_days.order_revenue as net_revenue,
        order_days.order_revenue - order_days.cogs as gross_margin
    from order_days
    cross join review_parameters
    where order_days.completed_order_lines > 0
        and order_days.ordered_date <= review_parameters.review_date

)

select * from final
