{#-
    Incremental by key: the validated models and the facts replace the rows of the keys that
    new loads touched, and keep every other row (the models incremental by customer are in
    incremental/customer_aggregates.sql).

    The rows a refresh must recompute are found through the raw zone's loads: every landing
    row carries the `_loaded_at` of its load, loads commit one at a time in that order
    (segmentation/ingest/raw_zone.py), and a model keeps `_loaded_at` on its rows. So a
    table's newest `_loaded_at` is its watermark: rows loaded after it are new. A new row of a
    key re-ranks the older versions of that key, so the whole key is recomputed; a new
    version of a parent (customer, order, product) changes its children's status, so their
    keys are recomputed too (the `*_touched_since` macros below list them).

    The assumption: in a refresh, a model's parents are refreshed before it (any `dbt build`
    or `dbt run` selecting them, `segmentation build`, the Dagster job). A child built alone
    after a load, while its parent is not, does not see the parent's new rows later:
    `--full-refresh` it. Rows removed from the raw zone by hand also need `--full-refresh`.
-#}


{#-
    The incremental configuration of a model that replaces whole keys, one place per engine.
    Models call it as `config(**incremental_by_key('order_line_id'))`.
    - duckdb, postgres (default): delete+insert on the key (the batch holds every row of
      every touched key, so deleting the key and inserting the batch replaces it exactly).
    - spark: Parquet tables have no delete and no merge (no Delta/Iceberg jars), and
      insert_overwrite replaces partitions, not keys: the model is a table, rebuilt in full.
    A schema change fails the run: an older table needs `--full-refresh` once.
-#}
{% macro incremental_by_key(unique_key) -%}
    {{ return(adapter.dispatch('incremental_by_key', 'customer_segmentation')(unique_key)) }}
{%- endmacro %}

{% macro default__incremental_by_key(unique_key) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': unique_key,
        'on_schema_change': 'fail',
    }) }}
{%- endmacro %}

{#- PostgreSQL types the same select differently in a full build and in an incremental run
    (a string cast gives text where the ids are varchar; a placeholder row's null makes a
    union numeric), and dbt's schema check reads that as a change. So columns added are still
    added, and a type that differs is cast by the insert instead of failing the run. -#}
{% macro postgres__incremental_by_key(unique_key) -%}
    {%- set config = default__incremental_by_key(unique_key) -%}
    {%- do config.update({'on_schema_change': 'append_new_columns'}) -%}
    {{ return(config) }}
{%- endmacro %}

{% macro spark__incremental_by_key(unique_key) -%}
    {{ return({'materialized': 'table'}) }}
{%- endmacro %}


{#- The watermark of the model being built: the newest `_loaded_at` among its rows; rows
    loaded after it are new. In a full build every row is new (and the models do not filter
    on the touched keys at all). -#}
{% macro loaded_watermark() -%}
    {%- if is_incremental() -%}
    (select coalesce(max(_loaded_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) from {{ this }})
    {%- else -%}
    cast('1900-01-01' as {{ dbt.type_timestamp() }})
    {%- endif -%}
{%- endmacro %}


{#- Customers with a row loaded after `watermark`: their status may have changed. -#}
{% macro customers_touched_since(watermark) -%}
    select customer_id from {{ ref('int_customers_validated') }} where _loaded_at > {{ watermark }}
{%- endmacro %}


{#- Keys of `relation` (with `key_column` and customer_id) touched by loads after
    `watermark`: a new row of the key, or a new row of a customer any of its rows names. -#}
{% macro customer_children_touched_since(relation, key_column, watermark) -%}
    select {{ key_column }} from {{ relation }} where _loaded_at > {{ watermark }}
    union
    select {{ key_column }} from {{ relation }}
    where customer_id in ({{ customers_touched_since(watermark) }})
{%- endmacro %}


{#- Order lines (any row of `order_lines`, staged or validated) touched by loads after
    `watermark`: a new row of the line, of its order, of the order's customer, or of its
    product. -#}
{% macro order_lines_touched_since(order_lines, watermark) -%}
    select order_line_id from {{ order_lines }} where _loaded_at > {{ watermark }}
    union
    select order_line_id from {{ order_lines }}
    where order_id in (
        {{ customer_children_touched_since(ref('int_orders_validated'), 'order_id', watermark) }}
    )
    union
    select order_line_id from {{ order_lines }}
    where product_id in (
        select product_id from {{ ref('int_products_validated') }} where _loaded_at > {{ watermark }}
    )
{%- endmacro %}
