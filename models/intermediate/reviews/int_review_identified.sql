-- The review this run builds, one row: review_id, review_type, review_date and the fiscal
-- year holding the review date. A review is (review_id, review_type, review_date):
--   annual  a frozen yearly review, review_id annual-FY<n> (FY<n> holds the review date;
--           the review date should be the fiscal year end: assert_review_annual_is_on_a_fiscal_year_end);
--   rolling the trailing var rolling_window_months ending on the review date, refreshed on
--           schedule, review_id rolling-<review_date>.
-- Vars: review_type (rolling | annual) and review_date (null = latest clean order date).
{%- set review_type = var('review_type', 'rolling') | string | trim %}
{%- if review_type not in ['rolling', 'annual'] %}
{{ exceptions.raise_compiler_error("var review_type must be rolling or annual, got '" ~ review_type ~ "'") }}
{%- endif %}
{%- if review_type == 'annual' %}
{%- set review_id_sql = dbt.concat(["'annual-'", "review_fiscal_years.fiscal_year_label"]) %}
{%- else %}
{%- set review_date_text = dbt.safe_cast("review_parameters.review_date", api.Column.translate_type("string")) %}
{%- set review_id_sql = dbt.concat(["'rolling-'", review_date_text]) %}
{%- endif %}

with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

reporting_periods as (

    select * from {{ ref('int_reporting_periods_defined') }}

),

review_fiscal_years as (

    select
        period_label as fiscal_year_label,
        is_complete as is_fiscal_year_end
    from reporting_periods
    where period_type = 'fiscal_year'
        and period_start <= review_date
        and period_end >= review_date

),

final as (

    select
        {{ review_id_sql }} as review_id,
        '{{ review_type }}' as review_type,
        review_parameters.review_date,
        review_parameters.review_date_source,
        review_parameters.rolling_window_start,
        review_parameters.rolling_window_months,
        review_fiscal_years.fiscal_year_label,
        review_fiscal_years.is_fiscal_year_end
    from review_parameters
    cross join review_fiscal_years

)

select * from final
