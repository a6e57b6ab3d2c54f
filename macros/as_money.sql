{#- BI marts expose every money amount as one decimal type (dbt.type_numeric(): numeric(28,6)
    on DuckDB, Postgres and Spark) so their contracts do not depend on how each engine widens
    decimals in sums and differences (DuckDB: sum of decimal(28,6) is decimal(38,6)). -#}
{% macro as_money(expression) -%}
    cast({{ expression }} as {{ dbt.type_numeric() }})
{%- endmacro %}

{#- Counts as bigint: DuckDB sums integers into hugeint, which other engines do not have. -#}
{% macro as_count(expression) -%}
    cast({{ expression }} as {{ dbt.type_bigint() }})
{%- endmacro %}
