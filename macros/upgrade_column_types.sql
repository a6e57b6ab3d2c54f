{#-
    The SQL of a pre-hook that gives an incremental table built before a release the column
    types its model now declares, keeping its rows. An incremental model with
    on_schema_change 'fail' stops on a type it did not create the table with, and a full
    refresh of segment_review_history would drop every past review; altering the column in
    place keeps them (the values are cast as the model now casts them).
    `column_types`: {column name: the type it must have}. Only a column whose current type is
    not already a decimal is altered, so every later run renders nothing.
    Called from a model's config as
    pre_hook="{{ upgrade_column_types(this, {'predicted_clv': dbt.type_numeric()}) }}".
-#}
{% macro upgrade_column_types(relation, column_types) -%}
    {{ return(adapter.dispatch('upgrade_column_types', 'customer_segmentation')(relation, column_types)) }}
{%- endmacro %}

{#- DuckDB and PostgreSQL: `alter table ... alter column ... type ...` keeps the column's
    place and its rows. -#}
{% macro default__upgrade_column_types(relation, column_types) -%}
    {%- if execute and is_incremental() -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- set dtype = column.dtype | lower -%}
            {%- if column.name in column_types and not dtype.startswith(('decimal', 'numeric')) %}
    alter table {{ relation }} alter column {{ adapter.quote(column.name) }} type {{ column_types[column.name] }};
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- Spark's Parquet tables cannot change a column's type: a table from before needs
    `dbt build --full-refresh` (the Spark builds of this project are fresh builds). -#}
{% macro spark__upgrade_column_types(relation, column_types) -%}
{%- endmacro %}
