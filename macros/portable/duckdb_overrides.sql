{#- Faster spellings of dbt's cross-database macros on DuckDB (the root project's duckdb__
    macros win dbt's dispatch), so models keep calling dbt.listagg unchanged. -#}

{#- dbt-duckdb's listagg is string_agg(... order by ...): DuckDB sorts every group's values
    on its own, which took 11 s of int_segment_customers_profiled at 1M customers (categories
    per customer). Collecting (order keys..., value) structs into a list and sorting the
    list gives the same string in half the time. As on Spark: ascending, non-null order keys
    only, as `order by a, b`; null values are skipped like string_agg skips them. -#}
{% macro duckdb__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if order_by_clause -%}
        {%- set fields = [] -%}
        {%- for key in listagg_order_keys(order_by_clause, 'DuckDB') -%}
            {%- do fields.append("'k" ~ loop.index ~ "': " ~ key) -%}
        {%- endfor -%}
        {%- set collected = "list_transform(list_sort(list({" ~ fields | join(', ') ~ ", 'v': " ~ measure
            ~ "}) filter (where (" ~ measure ~ ") is not null)), x -> x.v)" -%}
    {%- else -%}
        {%- set collected = "list(" ~ measure ~ ") filter (where (" ~ measure ~ ") is not null)" -%}
    {%- endif -%}
    {%- if limit_num -%}
        {%- set collected = "list_slice(" ~ collected ~ ", 1, " ~ limit_num ~ ")" -%}
    {%- endif -%}
    array_to_string({{ collected }}, {{ delimiter_text }})
{%- endmacro %}
