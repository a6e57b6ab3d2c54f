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


{#- Mean and sample standard deviation of a double expression that are the same to the bit on every
    run: avg(), stddev_samp() and sum() of doubles add in the order parallel threads finish, so
    their last bits vary from one build to the next (and a tie in a ranking can flip). Here the
    values are summed as decimals with `places` decimal places, which is exact, and divided once.
    `over` is an optional window clause, e.g. "over (partition by tenure_band)". -#}
{% macro exact_mean(expression, places=12, over='') -%}
    {{ divide(exact_sum(expression, places, over), 'nullif(count(' ~ expression ~ ') ' ~ over ~ ', 0)') }}
{%- endmacro %}

{% macro exact_stddev_samp(expression, places=12, over='') -%}
    {%- set n = 'count(' ~ expression ~ ') ' ~ over -%}
    {%- set total = as_double(exact_sum(expression, places, over)) -%}
    {%- set total_of_squares = as_double(exact_sum('(' ~ expression ~ ') * (' ~ expression ~ ')', places, over)) -%}
    {#- null for fewer than two values, as stddev_samp; greatest() absorbs a rounding residue below 0 -#}
    case
        when {{ n }} > 1 then sqrt(greatest(
            ({{ total_of_squares }} - {{ total }} * {{ total }} / ({{ n }})) / ({{ n }} - 1),
            0
        ))
    end
{%- endmacro %}

{#- The exact decimal sum those use (a decimal(38, places)); wrap in as_double() for a double. -#}
{% macro exact_sum(expression, places=12, over='') -%}
    sum(cast({{ expression }} as decimal(38, {{ places }}))) {{ over }}
{%- endmacro %}
