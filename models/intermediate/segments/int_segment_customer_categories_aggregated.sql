-- Product adoption at customer x product category grain: the categories of the clean,
-- completed order lines a customer bought on or before the review date (returned and
-- cancelled orders do not count as adoption), with their gross margin.
with

order_lines as (

    select * from {{ ref('int_order_lines_priced') }}

),

products as (

    select * from {{ ref('int_products_validated') }}

),

clean_products as (

    select
        product_id,
        product_category
    from products
    where not is_quarantined

),

completed_lines as (

    select
        order_lines.customer_id,
        order_lines.order_id,
        order_lines.ordered_date,
        order_lines.gross_margin,
        clean_products.product_category
    from order_lines
    inner join clean_products
        on order_lines.product_id = clean_products.product_id
    where order_lines.is_revenue_earning

),

final as (

    select
        customer_id,
        product_category,
        count(distinct order_id) as orders,
        min(ordered_date) as first_ordered_date,
        max(ordered_date) as last_ordered_date,
        sum(gross_margin) as gross_margin
    from completed_lines
    group by
        customer_id,
        product_category

)

select * from final
