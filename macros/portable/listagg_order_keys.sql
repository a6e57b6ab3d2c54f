{#- The order keys of a listagg's `order by a, b` clause, for the engines that sort a list of
    (keys..., value) structs instead (duckdb_overrides.sql, spark_overrides.sql): ascending,
    non-null keys only, so a sort of the structs gives the same order. -#}
{% macro listagg_order_keys(order_by_clause, engine_name) -%}
    {%- set keys = order_by_clause | trim | replace('order by', '', 1) | trim -%}
    {%- if ' desc' in keys | lower or ' nulls' in keys | lower -%}
        {{ exceptions.raise_compiler_error("listagg on " ~ engine_name ~ " supports ascending order keys only: " ~ order_by_clause) }}
    {%- endif -%}
    {{ return(keys.split(',') | map('trim') | list) }}
{%- endmacro %}
