-- Product adoption at customer x product category grain: the categories of the clean,
-- completed order lines a customer bought on or before the review date (returned and
-- cancelled orders do not count as adoption), with their gross margin. Summed from the
-- compact per-day rows of int_customer_category_days_aggregated.
with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

category_days as (

    select * from {{ ref('int_customer_category_days_aggregated') }}

),

reviewed_days as (

    select
        category_days.customer_id,
        category_days.product_category,
        category_days.ordered_date,
        category_days.orders,
        category_days.net_revenue - category_days.cogs as gross_margin
    from category_days
    cross join review_parameters
    where category_days.ordered_date <= review_parameters.review_date

),

final as (

    select
        customer_id,
        product_category,
        cast(sum(orders) as {{ dbt.type_bigint() }}) as orders,
        min(ordered_date) as first_ordered_date,
        max(ordered_date) as last_ordered_date,
        sum(gross_margin) as gross_margin
    from reviewed_days
    group by
        customer_id,
        product_category

)

select * from final
