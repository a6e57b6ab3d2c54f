-- The customers whose results loads may have changed, computed once per run for every model
-- that is incremental by customer (macros/incremental/customer_aggregates.sql): one row per
-- customer with the `_loaded_at` of the latest load that touched it. A load touches a
-- customer with a row of the customer, of any version of its orders, support tickets or
-- service contracts, of an order line of any version of one of those orders (any version of
-- the line: a re-sent line may move to another order), or of a product of such a line.
-- All versions, not only current ones: a new version of an order can move it to another
-- customer or quarantine it (duplicate), a new product version changes the COGS and category
-- of its lines, a customer loaded late turns its orders from quarantined (unknown_customer)
-- to clean. Late-arriving rows are found by load, not date.
-- A full build lists no customer (every model built with it is built in full too): its one
-- row without customer_id holds the watermark of that build. A model whose own watermark is
-- older than that row (built before this table's last full build) recomputes every customer.
-- Incremental by customer (macros/incremental.sql): a refresh reads only the rows loaded
-- after this table's watermark, its newest touched_by_load_at.
{{ config(**incremental_by_key('customer_id')) }}

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

support_tickets as (

    select * from {{ ref('int_support_tickets_validated') }}

),

service_contracts as (

    select * from {{ ref('int_service_contracts_validated') }}

),

{% if is_incremental() %}
watermark as (

    select
        coalesce(max(touched_by_load_at), cast('1900-01-01 00:00:00' as {{ dbt.type_timestamp() }})) as loaded_through
    from {{ this }}

),

new_lines as (

    select
        order_line_id,
        max(_loaded_at) as _loaded_at
    from order_lines
    where _loaded_at > (select loaded_through from watermark)
    group by order_line_id

),

new_products as (

    select
        product_id,
        max(_loaded_at) as _loaded_at
    from products
    where _loaded_at > (select loaded_through from watermark)
    group by product_id

),

-- Orders touched by a new row of the order, of one of its lines (every version of the
-- line), or of the product of one of its lines.
touched_orders as (

    select
        order_id,
        _loaded_at
    from orders
    where _loaded_at > (select loaded_through from watermark)

    union all

    select
        order_lines.order_id,
        new_lines._loaded_at
    from order_lines
    inner join new_lines
        on order_lines.order_line_id = new_lines.order_line_id

    union all

    select
        order_lines.order_id,
        new_products._loaded_at
    from order_lines
    inner join new_products
        on order_lines.product_id = new_products.product_id

),

touched_order_ids as (

    select
        order_id,
        max(_loaded_at) as _loaded_at
    from touched_orders
    group by order_id

),

new_tickets as (

    select
        ticket_id,
        max(_loaded_at) as _loaded_at
    from support_tickets
    where _loaded_at > (select loaded_through from watermark)
    group by ticket_id

),

new_contracts as (

    select
        contract_id,
        max(_loaded_at) as _loaded_at
    from service_contracts
    where _loaded_at > (select loaded_through from watermark)
    group by contract_id

),

-- Every version of each touched row names a customer it touches.
customer_touches as (

    select
        customer_id,
        _loaded_at
    from customers
    where _loaded_at > (select loaded_through from watermark)

    union all

    select
        orders.customer_id,
        touched_order_ids._loaded_at
    from orders
    inner join touched_order_ids
        on orders.order_id = touched_order_ids.order_id

    union all

    select
        support_tickets.customer_id,
        new_tickets._loaded_at
    from support_tickets
    inner join new_tickets
        on support_tickets.ticket_id = new_tickets.ticket_id

    union all

    select
        service_contracts.customer_id,
        new_contracts._loaded_at
    from service_contracts
    inner join new_contracts
        on service_contracts.contract_id = new_contracts.contract_id

),

touched as (

    select
        customer_id,
        max(_loaded_at) as touched_by_load_at
    from customer_touches
    where customer_id is not null
    group by customer_id

),
{% else %}
-- A full build: only the watermark, on the row without customer_id.
touched as (

    select
        cast(null as {{ dbt.type_string() }}) as customer_id,
        max(_loaded_at) as touched_by_load_at
    from (
        select _loaded_at from customers
        union all
        select _loaded_at from orders
        union all
        select _loaded_at from order_lines
        union all
        select _loaded_at from products
        union all
        select _loaded_at from support_tickets
        union all
        select _loaded_at from service_contracts
    ) as loads

),
{% endif %}

final as (

    select
        customer_id,
        coalesce(touched_by_load_at, cast('1900-01-01 00:00:00' as {{ dbt.type_timestamp() }})) as touched_by_load_at
    from touched

)

select * from final
