-- Every clean order line ordered on or before the review date, with its revenue and cost of
-- goods. Only completed orders earn: returns and cancellations reverse the revenue (and
-- the goods come back or never leave), so their lines carry 0 revenue and 0 COGS.
with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

order_lines as (

    select * from {{ ref('int_order_lines_validated') }}

),

orders as (

    select * from {{ ref('int_orders_validated') }}

),

products as (

    select * from {{ ref('int_products_validated') }}

),

clean_orders as (

    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_date,
        orders.order_status,
        orders.is_expedited
    from orders
    cross join review_parameters
    where not orders.is_quarantined
        and orders.ordered_date <= review_parameters.review_date

),

clean_products as (

    select
        product_id,
        unit_cost
    from products
    where not is_quarantined

),

clean_lines as (

    select
        order_line_id,
        order_id,
        product_id,
        quantity,
        unit_price,
        discount_amount
    from order_lines
    where not is_quarantined

),

joined as (

    select
        clean_lines.order_line_id,
        clean_lines.order_id,
        clean_orders.customer_id,
        clean_orders.ordered_date,
        clean_orders.order_status,
        clean_orders.is_expedited,
        clean_lines.product_id,
        clean_lines.quantity,
        clean_lines.unit_price,
        clean_lines.discount_amount,
        clean_products.unit_cost
    from clean_lines
    inner join clean_orders
        on clean_lines.order_id = clean_orders.order_id
    inner join clean_products
        on clean_lines.product_id = clean_products.product_id

),

priced as (

    select
        *,
        order_status = 'completed' as is_revenue_earning,
        case
            when order_status = 'completed'
                then quantity * unit_price - discount_amount
            else 0
        end as net_revenue,
        case
            when order_status = 'completed' then quantity * unit_cost
            else 0
        end as cogs
    from joined

),

final as (

    select
        order_line_id,
        order_id,
        customer_id,
        ordered_date,
        order_status,
        is_expedited,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        unit_cost,
        is_revenue_earning,
        net_revenue,
        cogs,
        net_revenue - cogs as gross_margin
    from priced

)

select * from final
