-- One row per customer and day with at least one completed order: the purchase "events"
-- the buy-till-you-die models count. Several orders on one day are one purchase (the
-- models count repeat purchase periods; the period here is a day). Value = gross margin.
with

order_lines as (

    select * from {{ ref('int_order_lines_priced') }}

),

completed as (

    select
        customer_id,
        ordered_date as purchase_date,
        net_revenue,
        gross_margin
    from order_lines
    where is_revenue_earning

),

final as (

    select
        customer_id,
        purchase_date,
        sum(net_revenue) as net_revenue,
        sum(gross_margin) as gross_margin
    from completed
    group by
        customer_id,
        purchase_date

)

select * from final
