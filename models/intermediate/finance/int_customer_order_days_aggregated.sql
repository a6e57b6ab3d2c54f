-- Order facts per customer and order date, all dates (no review-date cut: the review
-- models filter), so that nothing downstream rescans or prices the order lines: the
-- profitability periods, purchase days and RFM summary are computed from these rows.
--   orders / completed_orders   clean orders (with or without clean lines)
--   completed_order_lines       clean lines of the completed orders with a clean product
--                               (a day with one is a purchase day)
--   order_revenue / cogs        of those lines (returns and cancellations earn nothing),
--                               exact decimals, summed from int_customer_category_days_aggregated
-- Incremental by customer (incremental_by_key, macros/incremental.sql; touched customers:
-- macros/incremental/customer_aggregates.sql): a run re-aggregates every
-- customer with an order, line, product or customer row loaded after loaded_through, the
-- latest _loaded_at the table has seen (late-arriving rows and quarantine changes included);
-- a customer left without clean orders is deleted by the post-hook.
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

category_days as (

    select * from {{ ref('int_customer_category_days_aggregated') }}

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

clean_orders as (

    select
        customer_id,
        ordered_date,
        order_status
    from orders
    where not is_quarantined
    {%- if is_incremental() %}
        and customer_id in (select customer_id from touched_customers)
    {%- endif %}

),

order_counts as (

    select
        customer_id,
        ordered_date,
        count(*) as orders,
        sum(case when order_status = 'completed' then 1 else 0 end) as completed_orders
    from clean_orders
    group by
        customer_id,
        ordered_date

),

line_totals as (

    select
        customer_id,
        ordered_date,
        sum(order_lines) as completed_order_lines,
        sum(net_revenue) as order_revenue,
        sum(cogs) as cogs
    from category_days
    {%- if is_incremental() %}
    where customer_id in (select customer_id from touched_customers)
    {%- endif %}
    group by
        customer_id,
        ordered_date

),

order_days as (

    select
        order_counts.customer_id,
        order_counts.ordered_date,
        order_counts.orders,
        order_counts.completed_orders,
        coalesce(line_totals.completed_order_lines, 0) as completed_order_lines,
        coalesce(line_totals.order_revenue, 0) as order_revenue,
        coalesce(line_totals.cogs, 0) as cogs
    from order_counts
    left join line_totals
        on order_counts.customer_id = line_totals.customer_id
        and order_counts.ordered_date = line_totals.ordered_date

),

{% if is_incremental() %}
-- One row per touched customer without clean orders left: it makes delete+insert remove
-- the customer's old rows; the post-hook deletes it.
emptied_customers as (

    select
        customer_id,
        cast(null as date) as ordered_date,
        0 as orders,
        0 as completed_orders,
        0 as completed_order_lines,
        0 as order_revenue,
        0 as cogs
    from touched_customers
    where customer_id not in (select customer_id from order_days)

),

order_days_and_emptied as (

    select * from order_days
    union all
    select * from emptied_customers

),
{% else %}
order_days_and_emptied as (

    select * from order_days

),
{% endif %}

final as (

    select
        order_days_and_emptied.customer_id,
        order_days_and_emptied.ordered_date,
        cast(order_days_and_emptied.orders as {{ dbt.type_bigint() }}) as orders,
        cast(order_days_and_emptied.completed_orders as {{ dbt.type_bigint() }}) as completed_orders,
        cast(order_days_and_emptied.completed_order_lines as {{ dbt.type_bigint() }}) as completed_order_lines,
        cast(order_days_and_emptied.order_revenue as {{ dbt.type_numeric() }}) as order_revenue,
        cast(order_days_and_emptied.cogs as {{ dbt.type_numeric() }}) as cogs,
        watermark.loaded_through
    from order_days_and_emptied
    cross join watermark

)

select * from final
