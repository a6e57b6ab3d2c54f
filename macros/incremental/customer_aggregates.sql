{#- How the compact customer aggregates (int_customer_order_days_aggregated, ...) are kept
    up to date, per engine, in one place. Incremental with delete+insert on customer_id on
    DuckDB and PostgreSQL; a table rebuilt every run on Spark (Parquet tables without Delta
    have no delete or merge, and insert_overwrite without partitions would replace the whole
    table with the delta). The lead may fold this into a project-wide incremental_strategy(). -#}
{% macro customer_segmentation_aggregate_materialization() -%}
    {{ return(adapter.dispatch('customer_segmentation_aggregate_materialization', 'customer_segmentation')()) }}
{%- endmacro %}

{% macro default__customer_segmentation_aggregate_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__customer_segmentation_aggregate_materialization() -%}
    {{ return('table') }}
{%- endmacro %}


{% macro customer_segmentation_incremental_strategy() -%}
    {{ return(adapter.dispatch('customer_segmentation_incremental_strategy', 'customer_segmentation')()) }}
{%- endmacro %}

{% macro default__customer_segmentation_incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__customer_segmentation_incremental_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}


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
