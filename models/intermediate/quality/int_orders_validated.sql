-- Every staged order row with the reasons it is quarantined (null: clean).
-- An order is only clean when its customer is known and clean.
-- Incremental (macros/incremental.sql): a refresh recomputes every row of the orders
-- that new loads touched: a new row of the order, or of a customer it names.
{{ config(**incremental_by_key('order_id')) }}

with

staged_orders as (

    select * from {{ ref('stg_landing__orders') }}

),

customers as (

    select * from {{ ref('int_customers_validated') }}

),

sales_channels as (

    select * from {{ ref('sales_channels') }}

),

touched_orders as (  -- noqa: ST03

    {{ customer_children_touched_since('staged_orders', 'order_id', loaded_watermark()) }}

),

orders as (

    select staged_orders.* from staged_orders
    {%- if is_incremental() %}
        where staged_orders.order_id in (select touched_orders.order_id from touched_orders)
    {%- endif %}

),

current_customers as (

    select
        customer_id,
        signup_date,
        is_quarantined
    from customers
    where version_rank = 1

),

ranked as (

    select
        *,
        {{ latest_version_rank(['order_id']) }} as version_rank
    from orders

),

checked as (

    select
        ranked.*,
        {{ quarantine_reason([
            ("ranked.version_rank > 1", "duplicate_order_id"),
            ("current_customers.customer_id is null", "unknown_customer"),
            ("current_customers.is_quarantined", "customer_quarantined"),
            ("ranked.ordered_at > ranked._loaded_at", "ordered_in_future"),
            ("ranked.order_status not in " ~ contract_allowed_values('orders', 'status'), "invalid_status"),
            ("ranked.sales_channel is not null and known_channels.sales_channel is null", contract_seed_reason('orders', 'sales_channel')),
            ("ranked.currency <> " ~ sql_literal(var('reporting_currency'), 'currency', 'reporting_currency'), "currency_mismatch"),
        ]) }} as quarantine_reason
    from ranked
    left join current_customers
        on ranked.customer_id = current_customers.customer_id
    left join sales_channels as known_channels
        on ranked.sales_channel = lower(known_channels.sales_channel)

),

final as (

    select
        *,
        quarantine_reason is not null as is_quarantined
    from checked

)

select * from final
