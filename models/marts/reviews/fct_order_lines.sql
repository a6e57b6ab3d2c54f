-- Every clean order line of a clean order, one row per order_line_id, with its order,
-- product category and cost of goods; all dates (no review-date cut: reviews filter).
-- int_order_lines_validated already carries the order's and the product's columns, so
-- this is a filter of it, not a join.
-- A view, not a table: it is a filter of int_order_lines_validated (which is incremental and
-- holds every line), so a refresh writes the order lines once, not twice, and the view is
-- always equal to a full refresh. Nothing downstream reads it; the publish step leaves the
-- facts out.
-- Belongs in models/marts/finance/ (kept here while the reviews work is reviewed).
{{ config(materialized='view') }}

with

order_lines as (

    select * from {{ ref('int_order_lines_validated') }}

),

clean_order_lines as (

    select order_lines.* from order_lines
    where not order_lines.is_quarantined

),

final as (

    select
        order_line_id,
        order_id,
        customer_id,
        product_id,
        product_category,
        ordered_date,
        order_status,
        sales_channel,
        is_expedited,
        quantity,
        unit_price,
        discount_amount,
        gross_amount,
        quantity * unit_cost as cogs,
        _loaded_at
    from clean_order_lines

)

select * from final
