-- Every staged order line with the reasons it is quarantined (null: clean).
-- A line is only clean when its order and product are known and clean.
with

order_lines as (

    select * from {{ ref('stg_landing__order_lines') }}

),

orders as (

    select * from {{ ref('int_orders_validated') }}

),

products as (

    select * from {{ ref('int_products_validated') }}

),

current_orders as (

    select
        order_id,
        is_quarantined
    from orders
    where version_rank = 1

),

current_products as (

    select
        product_id,
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
        ]) }} as quarantine_reason
    from ranked
    left join current_orders
        on ranked.order_id = current_orders.order_id
    left join current_products
        on ranked.product_id = current_products.product_id

),

final as (

    select
        *,
        quarantine_reason is not null as is_quarantined
    from checked

)

select * from final
