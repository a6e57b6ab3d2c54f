{#- Portable SQL for numbers. Engine-specific spellings only here (adapter.dispatch). -#}

{#- An 8-byte float: `double` on DuckDB and Spark, `double precision` on PostgreSQL
    (dbt.type_float() is 4-byte `float` on DuckDB). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'customer_segmentation')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double{%- endmacro %}

{% macro postgres__type_double() -%}double precision{%- endmacro %}


{#- round(x, places) of a double, as a double. PostgreSQL rounds only numeric to places. -#}
{% macro round_number(expression, places=0) -%}
    {{ return(adapter.dispatch('round_number', 'customer_segmentation')(expression, places)) }}
{%- endmacro %}

{% macro default__round_number(expression, places) -%}
    round({{ expression }}, {{ places }})
{%- endmacro %}

{% macro postgres__round_number(expression, places) -%}
    cast(round(cast({{ expression }} as numeric), {{ places }}) as double precision)
{%- endmacro %}


{#- numerator / denominator as a double on every engine: DuckDB divides decimals into a double,
    Spark and PostgreSQL keep a decimal with few places (shares would no longer sum to 1). -#}
{% macro divide(numerator, denominator) -%}
    cast({{ numerator }} as {{ type_double() }}) / ({{ denominator }})
{%- endmacro %}


{#- A contracted double column: avg of integers is numeric on PostgreSQL, double on DuckDB. -#}
{% macro as_double(expression) -%}
    cast({{ expression }} as {{ type_double() }})
{%- endmacro %}
