{#- The customers whose order facts may have changed since the aggregate `this` was built:
    every customer of any version of an order, order line or product row loaded after the
    aggregate's watermark (column loaded_through, the latest _loaded_at it has seen), and
    customers loaded since. All versions, not only current ones: a new version of an order
    can move it to another customer or quarantine it (duplicate), a new product version
    changes the COGS and category of its lines, a customer loaded late turns its orders from
    quarantined (unknown_customer) to clean. Late-arriving rows are found by load, not date. -#}
{#- The latest _loaded_at the aggregate `this` has seen; before any row, a date before any load
    (an empty table built before the first load must not stay empty). -#}
{% macro customer_aggregate_watermark() -%}
    coalesce((select max(loaded_through) from {{ this }}), cast('1900-01-01 00:00:00' as {{ dbt.type_timestamp() }}))
{%- endmacro %}


{% macro customers_with_order_facts_loaded_since_watermark(customers, orders, order_lines, products) -%}
    select customer_id from {{ customers }}
    where _loaded_at > {{ customer_aggregate_watermark() }}
    union
    select touched_orders.customer_id
    from {{ orders }} as touched_orders
    where touched_orders.order_id in (
        select order_id from {{ orders }}
        where _loaded_at > {{ customer_aggregate_watermark() }}
        union
        select order_id from {{ order_lines }}
        where order_line_id in (
            select order_line_id from {{ order_lines }}
            where _loaded_at > {{ customer_aggregate_watermark() }}
        )
        union
        select order_id from {{ order_lines }}
        where product_id in (
            select product_id from {{ products }}
            where _loaded_at > {{ customer_aggregate_watermark() }}
        )
    )
{%- endmacro %}
