-- Every staged order line with the reasons it is quarantined (null: clean).
-- A line is only clean when its order and product are known and clean.
-- It also carries what the facts need from the current version of its order (customer,
-- date, status, channel) and product (category, unit cost), so that no later model joins
-- the order lines to orders and products again.
-- Incremental (macros/incremental.sql): a refresh recomputes every row of the lines that
-- new loads touched: a new row of the line, of its order, of the order's customer, or of
-- its product.
{{ config(**incremental_by_key('order_line_id')) }}
-- depends_on: {{ ref('int_customers_validated') }} (order_lines_touched_since, incremental runs only)

with

staged_order_lines as (

    select * from {{ ref('stg_landing__order_lines') }}

),

orders as (

    select * from {{ ref('int_orders_validated') }}

),

products as (

    select * from {{ ref('int_products_validated') }}

),

touched_order_lines as (  -- noqa: ST03

    {{ order_lines_touched_since('staged_order_lines', loaded_watermark()) }}

),

order_lines as (

    select staged_order_lines.* from staged_order_lines
    {%- if is_incremental() %}
        where staged_order_lines.order_line_id in (select touched_order_lines.order_line_id from touched_order_lines)
    {%- endif %}

),

current_orders as (

    select
        order_id,
        customer_id,
        ordered_date,
        order_status,
        sales_channel,
        is_expedited,
        is_quarantined
    from orders
    where version_rank = 1

),

current_products as (

    select
        product_id,
        product_category,
        unit_cost,
        is_quarantined
    from products
    where version_rank = 1

),

ranked as (

    select
        *,
        {{ latest_version_rank(['order_line_id']) }} as version_rank
    from order_lines

),

checked as (

    select
        ranked.*,
        {{ quarantine_reason([
            ("ranked.version_rank > 1", "duplicate_order_line_id"),
            ("current_orders.order_id is null", "unknown_order"),
            ("current_orders.is_quarantined", "order_quarantined"),
            ("current_products.product_id is null", "unknown_product"),
            ("current_products.is_quarantined", "product_quarantined"),
            ("ranked.quantity <= 0", "non_positive_quantity"),
            ("ranked.unit_price < 0", "negative_unit_price"),
            ("ranked.discount_amount < 0", "negative_discount"),
            ("ranked.gross_amount is null", "amount_out_of_range"),
            ("ranked.gross_amount >= 0 and ranked.discount_amount > ranked.gross_amount", "discount_exceeds_amount"),
        ]) }} as quarantine_reason,
        current_orders.customer_id as order_customer_id,
        current_orders.ordered_date as order_ordered_date,
        current_orders.order_status as order_order_status,
        current_orders.sales_channel as order_sales_channel,
        current_orders.is_expedited as order_is_expedited,
        current_products.product_category as product_product_category,
        current_products.unit_cost as product_unit_cost
    from ranked
    left join current_orders
        on ranked.order_id = current_orders.order_id
    left join current_products
        on ranked.product_id = current_products.product_id

),

final as (

    select
        order_line_id,
        order_id,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        gross_amount,
        _load_id,
        _source_file,
        _source_line_number,
        _loaded_at,
        version_rank,
        quarantine_reason,
        quarantine_reason is not null as is_quarantined,
        order_customer_id as customer_id,
        order_ordered_date as ordered_date,
        order_order_status as order_status,
        order_sales_channel as sales_channel,
        order_is_expedited as is_expedited,
        product_product_category as product_category,
        product_unit_cost as unit_cost
    from checked

)

select * from final
