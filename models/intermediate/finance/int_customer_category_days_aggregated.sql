-- The earning order lines per customer, order date and product category, all dates (the
-- review models filter): the clean lines of clean completed orders with a clean product
-- (returns and cancellations earn nothing), priced once: revenue after discount, COGS,
-- gross margin, lines and distinct orders. The one model that reads order lines for the
-- customer-level results: int_customer_order_days_aggregated sums it per day (profitability,
-- purchase days, RFM) and int_segment_customer_categories_aggregated per category (product
-- adoption; an order has one date, so distinct orders per day add up over any range of days).
-- Incremental by customer (incremental_by_key, macros/incremental.sql; touched customers:
-- macros/incremental/customer_aggregates.sql): a run re-aggregates every
-- customer with an order, line, product or customer row loaded after loaded_through, the
-- latest _loaded_at the table has seen (late-arriving rows and quarantine changes included);
-- a customer left without earning lines is deleted by the post-hook.
{%- set by_customer = incremental_by_key('customer_id') %}
{{ config(
    post_hook=("delete from {{ this }} where ordered_date is null" if by_customer.materialized == 'incremental' else ''),
    **by_customer
) }}

with

customers as (

    select * from {{ ref('int_customers_validated') }}

),

orders as (

    select * from {{ ref('int_orders_validated') }}

),

order_lines as (

    select * from {{ ref('int_order_lines_validated') }}

),

products as (

    select * from {{ ref('int_products_validated') }}

),

watermark as (

    select max(_loaded_at) as loaded_through
    from (
        select _loaded_at from customers
        union all
        select _loaded_at from orders
        union all
        select _loaded_at from order_lines
        union all
        select _loaded_at from products
    ) as loads

),

{% if is_incremental() %}
touched_customers as (

    {{ customers_with_order_facts_loaded_since_watermark('customers', 'orders', 'order_lines', 'products') }}

),
{% endif %}

completed_orders as (

    select
        order_id,
        customer_id,
        ordered_date
    from orders
    where not is_quarantined
        and order_status = 'completed'
    {%- if is_incremental() %}
        and customer_id in (select customer_id from touched_customers)
    {%- endif %}

),

clean_products as (

    select
        product_id,
        product_category,
        unit_cost
    from products
    where not is_quarantined

),

completed_lines as (

    select
        completed_orders.customer_id,
        completed_orders.ordered_date,
        clean_products.product_category,
        order_lines.order_id,
        order_lines.quantity * order_lines.unit_price - order_lines.discount_amount as net_revenue,
        order_lines.quantity * clean_products.unit_cost as cogs
    from order_lines
    inner join completed_orders
        on order_lines.order_id = completed_orders.order_id
    inner join clean_products
        on order_lines.product_id = clean_products.product_id
    where not order_lines.is_quarantined

),

category_days as (

    select
        customer_id,
        ordered_date,
        product_category,
        count(distinct order_id) as orders,
        count(*) as order_lines,
        sum(net_revenue) as net_revenue,
        sum(cogs) as cogs
    from completed_lines
    group by
        customer_id,
        ordered_date,
        product_category

),

{% if is_incremental() %}
-- One row per touched customer without earning lines left: it makes delete+insert remove
-- the customer's old rows; the post-hook deletes it.
emptied_customers as (

    select
        customer_id,
        cast(null as date) as ordered_date,
        cast(null as {{ dbt.type_string() }}) as product_category,
        0 as orders,
        0 as order_lines,
        0 as net_revenue,
        0 as cogs
    from touched_customers
    where customer_id not in (select customer_id from category_days)

),

category_days_and_emptied as (

    select * from category_days
    union all
    select * from emptied_customers

),
{% else %}
category_days_and_emptied as (

    select * from category_days

),
{% endif %}

final as (

    select
        category_days_and_emptied.customer_id,
        category_days_and_emptied.ordered_date,
        category_days_and_emptied.product_category,
        cast(category_days_and_emptied.orders as {{ dbt.type_bigint() }}) as orders,
        cast(category_days_and_emptied.order_lines as {{ dbt.type_bigint() }}) as order_lines,
        cast(category_days_and_emptied.net_revenue as {{ dbt.type_numeric() }}) as net_revenue,
        cast(category_days_and_emptied.cogs as {{ dbt.type_numeric() }}) as cogs,
        watermark.loaded_through
    from category_days_and_emptied
    cross join watermark

)

select * from final
