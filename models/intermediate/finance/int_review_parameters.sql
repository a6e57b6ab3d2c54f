-- The one row of review parameters every finance model cross joins: the review date
-- (dbt var review_date, or the latest clean order date when the var is null, less var
-- review_months_before_latest months, e.g. 12 for "the review of a year ago"), the start of
-- the rolling window ending on it, the fiscal-year start month and the reporting currency.
-- Nothing dated after review_date is counted anywhere downstream.
{%- set review_date_var = var('review_date', none) %}
{%- set months_before_latest = var('review_months_before_latest', 0) | int %}
{%- set rolling_window_months = var('rolling_window_months', 12) | int %}
{%- set fiscal_year_start_month = var('fiscal_year_start_month', 1) | int %}
{%- if rolling_window_months < 1 %}
    {{ exceptions.raise_compiler_error("var rolling_window_months must be a positive number of months, got " ~ rolling_window_months) }}
{%- endif %}
{%- if fiscal_year_start_month < 1 or fiscal_year_start_month > 12 %}
    {{ exceptions.raise_compiler_error("var fiscal_year_start_month must be a month number 1-12, got " ~ fiscal_year_start_month) }}
{%- endif %}

with

orders as (

    select * from {{ ref('int_orders_validated') }}

),

latest_order as (

    select max(ordered_date) as latest_order_date
    from orders
    where not is_quarantined

),

resolved as (

    select
        {% if review_date_var is none or review_date_var | string | trim == '' -%}
        {%- if months_before_latest == 0 %}
        latest_order_date as review_date,
        'latest_clean_order_date' as review_date_source,
        {%- else %}
        cast({{ dbt.dateadd('month', -months_before_latest, 'latest_order_date') }} as date) as review_date,
        'latest_clean_order_date_less_{{ months_before_latest }}_months' as review_date_source,
        {%- endif %}
        {%- else -%}
        cast({{ sql_literal(review_date_var, 'date', 'review_date') }} as date) as review_date,
        'var' as review_date_source,
        {%- endif %}
        latest_order_date
    from latest_order

),

final as (

    select
        review_date,
        cast(
            {{ dbt.dateadd('day', 1, dbt.dateadd('month', -rolling_window_months, 'review_date')) }}
            as date
        ) as rolling_window_start,
        {{ rolling_window_months }} as rolling_window_months,
        {{ fiscal_year_start_month }} as fiscal_year_start_month,
        {{ sql_literal(var('reporting_currency'), 'currency', 'reporting_currency') }} as reporting_currency,
        review_date_source,
        latest_order_date
    from resolved

)

select * from final
