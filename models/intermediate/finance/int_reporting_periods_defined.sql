-- The periods profitability is reported for, one row each:
--   fiscal_year  every fiscal year from the one holding the first dated fact to the one
--                holding the review date (FY<n> is the fiscal year that ends in year n);
--                the year in progress ends on the review date (is_complete = false);
--   rolling_<n>m the n months ending on the review date (var rolling_window_months);
--   lifetime     from the first fiscal year's start to the review date (used by
--                customer_lifetime_profitability; equals the union of the fiscal years).
{%- set fiscal_year_start_month = var('fiscal_year_start_month', 1) | int %}
{%- set rolling_window_months = var('rolling_window_months', 12) | int %}
{%- set max_fiscal_years = 100 %}

with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

customers as (

    select * from {{ ref('int_customers_validated') }}

),

orders as (

    select * from {{ ref('int_orders_validated') }}

),

support_tickets as (

    select * from {{ ref('int_support_tickets_validated') }}

),

service_contracts as (

    select * from {{ ref('int_service_contracts_validated') }}

),

fact_dates as (

    select signup_date as fact_date from customers
    where not is_quarantined
    union all
    select ordered_date as fact_date from orders
    where not is_quarantined
    union all
    select opened_date as fact_date from support_tickets
    where not is_quarantined
    union all
    select start_date as fact_date from service_contracts
    where not is_quarantined

),

history as (

    select
        review_parameters.review_date,
        review_parameters.rolling_window_start,
        min(fact_dates.fact_date) as first_fact_date
    from review_parameters
    inner join fact_dates
        on fact_dates.fact_date <= review_parameters.review_date
    group by
        review_parameters.review_date,
        review_parameters.rolling_window_start

),

first_fiscal_year as (

    -- Shift the date back to a January-based year, truncate, shift forward again.
    select
        review_date,
        rolling_window_start,
        cast(
            {{ dbt.dateadd(
                'month',
                fiscal_year_start_month - 1,
                dbt.date_trunc('year', dbt.dateadd('month', 1 - fiscal_year_start_month, 'first_fact_date'))
            ) }}
            as date
        ) as first_fiscal_year_start
    from history

),

year_numbers as (

    {{ dbt.generate_series(max_fiscal_years) }}

),

fiscal_year_bounds as (

    select
        first_fiscal_year.review_date,
        cast(
            {{ dbt.dateadd('year', 'year_numbers.generated_number - 1', 'first_fiscal_year.first_fiscal_year_start') }}
            as date
        ) as period_start,
        cast(
            {{ dbt.dateadd('day', -1, dbt.dateadd('year', 'year_numbers.generated_number', 'first_fiscal_year.first_fiscal_year_start')) }}  -- noqa: LT05
            as date
        ) as fiscal_year_end
    from first_fiscal_year
    cross join year_numbers

),

fiscal_years as (

    select
        'fiscal_year' as period_type,
        {{ dbt.concat([
            "'FY'",
            dbt.safe_cast("cast(extract(year from fiscal_year_end) as integer)", api.Column.translate_type("string"))
        ]) }} as period_label,
        period_start,
        case
            when fiscal_year_end > review_date then review_date
            else fiscal_year_end
        end as period_end,
        cast(extract(year from fiscal_year_end) as integer) as fiscal_year,
        fiscal_year_end <= review_date as is_complete,
        review_date
    from fiscal_year_bounds
    where period_start <= review_date

),

rolling_window as (

    select
        'rolling_{{ rolling_window_months }}m' as period_type,
        {{ dbt.concat([
            "'R" ~ rolling_window_months ~ "M to '", dbt.safe_cast("review_date", api.Column.translate_type("string"))
        ]) }} as period_label,
        rolling_window_start as period_start,
        review_date as period_end,
        cast(null as integer) as fiscal_year,
        true as is_complete,
        review_date
    from first_fiscal_year

),

lifetime as (

    select
        'lifetime' as period_type,
        'lifetime' as period_label,
        first_fiscal_year_start as period_start,
        review_date as period_end,
        cast(null as integer) as fiscal_year,
        true as is_complete,
        review_date
    from first_fiscal_year

),

final as (

    select * from fiscal_years
    union all
    select * from rolling_window
    union all
    select * from lifetime

)

select * from final
