-- Profit and loss per customer and reporting period (fiscal years, the rolling window and
-- lifetime), from the activity-grain finance models. Every clean customer signed up by a
-- period's end has a row for it, with zeros when nothing happened; a customer with dated
-- facts in a period before signing up gets a row too, so no amount is ever dropped.
-- The marts customer_profitability and customer_lifetime_profitability read this model.
-- How: every dated fact is joined on its date to the day's fiscal year and rolling-window
-- label (day_segments: one row per day, an equality join instead of a range join of every
-- fact against the periods) and summed once per customer, fiscal year and in/out of the
-- rolling window (order facts arrive already summed per day from
-- int_customer_order_days_aggregated); fiscal years, the rolling window and lifetime are
-- sums of those few rows per customer.
-- Incremental by customer (incremental_by_key, macros/incremental.sql): a run recomputes the
-- customers whose facts may have changed since loaded_through
-- (finance_customers_touched_since_watermark: touched by loads, sharing an account manager
-- or an acquisition channel-month with a customer loaded since, or every customer after new
-- cost rates or acquisition spend, or when the review date moved back or more than 31 days
-- forward: then the pre-hook empties the table first);
-- a customer left without rows (quarantined since) is deleted by the post-hook. When the
-- review date moved forward by a few days (a daily refresh, perhaps into a new fiscal year),
-- only the customers with a fact in the days that entered or left a period are recomputed
-- (profit_customers_in_moved_days: no other customer's sums change); the post-hooks give
-- every other customer's rows the periods' new label and dates, drop periods that ended and
-- add the zero row of a period that began.
{%- set max_period_days = 40000 %}
{%- set by_customer = incremental_by_key('customer_id') %}
{{ config(
    pre_hook=("{{ finance_empty_when_everything_changed(reporting_periods_moved_far()) }}" if by_customer.materialized == 'incremental' else ''),
    post_hook=([
        "delete from {{ this }} where period_type is null",
        "{{ profit_rows_of_ended_periods_deleted() }}",
        "{{ profit_rows_moved_to_periods() }}",
        "{{ profit_rows_added_for_new_periods() }}",
    ] if by_customer.materialized == 'incremental' else []),
    **by_customer
) }}
-- depends_on: {{ ref('int_customers_touched_by_loads') }}, {{ ref('int_customers_validated') }}
-- depends_on: {{ ref('int_cost_rates_validated') }}, {{ ref('int_acquisition_spend_validated') }}
-- depends_on: {{ ref('int_service_contracts_validated') }}

with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

periods as (

    select * from {{ ref('int_reporting_periods_defined') }}

),

customers as (

    select * from {{ ref('int_customers_validated') }}

),

order_days as (

    select * from {{ ref('int_customer_order_days_aggregated') }}

),

support_tickets as (

    select * from {{ ref('int_support_tickets_validated') }}

),

activities as (

    select * from {{ ref('int_cost_to_serve_activities_costed') }}

),

contract_revenues as (

    select * from {{ ref('int_service_contract_revenues_allocated') }}

),

acquisition_costs as (

    select * from {{ ref('int_acquisition_costs_allocated') }}

),

day_numbers as (

    {{ dbt.generate_series(max_period_days) }}

),

{% if is_incremental() %}
moved_days as (

    {{ reporting_period_moved_days() }}

),

-- Each day of moved_days once, so that the fact lookups of profit_customers_in_moved_days
-- are equality joins on a date (a range join of every fact against the ranges costs
-- seconds per fact table at 1M customers).
moved_dates as (

    select distinct
        cast({{ dbt.dateadd('day', 'day_numbers.generated_number - 1', 'moved_days.first_day') }} as date) as fact_date
    from moved_days
    cross join day_numbers
    where day_numbers.generated_number - 1
        <= {{ dbt.datediff('moved_days.first_day', 'moved_days.last_day', 'day') }}

),

touched_customers as (

    {{ finance_customers_touched_since_watermark(reporting_periods_moved_far()) }}
    union
    {{ profit_customers_in_moved_days() }}

),
{% endif %}

period_days as (

    select
        periods.period_type,
        periods.period_label,
        cast({{ dbt.dateadd('day', 'day_numbers.generated_number - 1', 'periods.period_start') }} as date) as fact_date
    from periods
    cross join day_numbers
    where day_numbers.generated_number - 1
        <= {{ dbt.datediff('periods.period_start', 'periods.period_end', 'day') }}

),

-- Each day of the history once, with the fiscal year and the rolling window holding it (if
-- any); every day is in lifetime.
day_labels as (

    select
        fact_date,
        max(case when period_type = 'fiscal_year' then period_label end) as fiscal_year_label,
        max(case when period_type not in ('fiscal_year', 'lifetime') then period_type end) as rolling_period_type,
        max(case when period_type not in ('fiscal_year', 'lifetime') then period_label end) as rolling_period_label,
        max(case when period_type = 'lifetime' then period_label end) as lifetime_label
    from period_days
    group by fact_date

),

-- The few distinct combinations (a fiscal year, in or out of the rolling window), numbered
-- so that facts are summed by customer and a small integer.
segments as (

    select
        fiscal_year_label,
        rolling_period_type,
        rolling_period_label,
        lifetime_label,
        row_number() over (order by fiscal_year_label, rolling_period_label) as segment_id
    from (
        select distinct
            fiscal_year_label,
            rolling_period_type,
            rolling_period_label,
            lifetime_label
        from day_labels
    ) as distinct_segments

),

day_segments as (

    select
        day_labels.fact_date,
        segments.segment_id
    from day_labels
    inner join segments
        on day_labels.fiscal_year_label = segments.fiscal_year_label
        and coalesce(day_labels.rolling_period_label, '') = coalesce(segments.rolling_period_label, '')

),

known_customers as (

    select
        customers.customer_id,
        customers.signup_date
    from customers
    cross join review_parameters
    where not customers.is_quarantined
        and customers.signup_date <= review_parameters.review_date
    {%- if is_incremental() %}
        and customers.customer_id in (select touched_customers.customer_id from touched_customers)
    {%- endif %}

),

clean_tickets as (

    select
        support_tickets.customer_id,
        support_tickets.opened_date
    from support_tickets
    cross join review_parameters
    where not support_tickets.is_quarantined
        and support_tickets.opened_date <= review_parameters.review_date
    {%- if is_incremental() %}
        and support_tickets.customer_id in (select touched_customers.customer_id from touched_customers)
    {%- endif %}

),

-- Every dated fact, one source per row (nulls for the other sources' measures).
-- Only the first select of a union names its columns (AL03 would alias every null below).
-- noqa: disable=AL03
day_facts as (

    select
        customer_id,
        ordered_date as fact_date,
        order_revenue,
        cogs,
        orders,
        completed_orders,
        cast(null as {{ dbt.type_bigint() }}) as tickets,
        cast(null as {{ type_double() }}) as cost_to_serve_support,
        cast(null as {{ type_double() }}) as cost_to_serve_escalations,
        cast(null as {{ type_double() }}) as cost_to_serve_returns,
        cast(null as {{ type_double() }}) as cost_to_serve_expedited,
        cast(null as {{ type_double() }}) as cost_to_serve_account_management,
        cast(null as {{ type_double() }}) as cost_to_serve,
        cast(null as {{ dbt.type_numeric() }}) as acquisition_cost
    from order_days
    {%- if is_incremental() %}
    where customer_id in (select touched_customers.customer_id from touched_customers)
    {%- endif %}

    union all

    select
        customer_id,
        opened_date,
        null,
        null,
        null,
        null,
        1,
        null,
        null,
        null,
        null,
        null,
        null,
        null
    from clean_tickets

    union all

    select
        customer_id,
        activity_date,
        null,
        null,
        null,
        null,
        null,
        case when activity = 'support_minutes' then cost else 0 end,
        case when activity = 'escalation' then cost else 0 end,
        case when activity = 'return' then cost else 0 end,
        case when activity = 'expedited_order' then cost else 0 end,
        case when activity = 'account_management' then cost else 0 end,
        cost,
        null
    from activities
    {%- if is_incremental() %}
    where customer_id in (select touched_customers.customer_id from touched_customers)
    {%- endif %}

    union all

    select
        customer_id,
        acquisition_date,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        acquisition_cost
    from acquisition_costs
    {%- if is_incremental() %}
    where customer_id in (select touched_customers.customer_id from touched_customers)
    {%- endif %}

),
-- noqa: enable=AL03

-- One row per customer, fiscal year and in/out of the rolling window with facts; only days
-- of the history (on or before the review date) join.
segment_totals as (

    select
        day_facts.customer_id,
        day_segments.segment_id,
        sum(day_facts.order_revenue) as order_revenue,
        sum(day_facts.cogs) as cogs,
        sum(day_facts.cost_to_serve_support) as cost_to_serve_support,
        sum(day_facts.cost_to_serve_escalations) as cost_to_serve_escalations,
        sum(day_facts.cost_to_serve_returns) as cost_to_serve_returns,
        sum(day_facts.cost_to_serve_expedited) as cost_to_serve_expedited,
        sum(day_facts.cost_to_serve_account_management) as cost_to_serve_account_management,
        sum(day_facts.cost_to_serve) as cost_to_serve,
        sum(day_facts.acquisition_cost) as acquisition_cost,
        sum(day_facts.orders) as orders,
        sum(day_facts.completed_orders) as completed_orders,
        sum(day_facts.tickets) as tickets
    from day_facts
    inner join day_segments
        on day_facts.fact_date = day_segments.fact_date
    group by
        day_facts.customer_id,
        day_segments.segment_id

),

labelled_segment_totals as (

    select
        segment_totals.*,
        segments.fiscal_year_label,
        segments.rolling_period_type,
        segments.rolling_period_label,
        segments.lifetime_label
    from segment_totals
    inner join segments
        on segment_totals.segment_id = segments.segment_id

),

segment_periods as (

    select
        *,
        'fiscal_year' as period_type,
        fiscal_year_label as period_label
    from labelled_segment_totals

    union all

    select
        labelled_segment_totals.*,
        rolling_period_type as period_type,
        rolling_period_label as period_label
    from labelled_segment_totals
    where rolling_period_label is not null

    union all

    select
        labelled_segment_totals.*,
        'lifetime' as period_type,
        lifetime_label as period_label
    from labelled_segment_totals

),

fact_totals as (

    select
        customer_id,
        period_type,
        period_label,
        sum(order_revenue) as order_revenue,
        cast(null as {{ dbt.type_numeric() }}) as contract_revenue,
        sum(cogs) as cogs,
        sum(cost_to_serve_support) as cost_to_serve_support,
        sum(cost_to_serve_escalations) as cost_to_serve_escalations,
        sum(cost_to_serve_returns) as cost_to_serve_returns,
        sum(cost_to_serve_expedited) as cost_to_serve_expedited,
        sum(cost_to_serve_account_management) as cost_to_serve_account_management,
        sum(cost_to_serve) as cost_to_serve,
        sum(acquisition_cost) as acquisition_cost,
        sum(orders) as orders,
        sum(completed_orders) as completed_orders,
        sum(tickets) as tickets
    from segment_periods
    group by
        customer_id,
        period_type,
        period_label

),

contract_totals as (

    select
        customer_id,
        period_type,
        period_label,
        sum(contract_revenue) as contract_revenue
    from contract_revenues
    {%- if is_incremental() %}
    where customer_id in (select touched_customers.customer_id from touched_customers)
    {%- endif %}
    group by
        customer_id,
        period_type,
        period_label

),

signed_up_customer_periods as (

    select
        known_customers.customer_id,
        periods.period_type,
        periods.period_label
    from known_customers
    inner join periods
        on known_customers.signup_date <= periods.period_end

),

-- The customer's row of a period: any fact in it, a contract covering it, or signed up by
-- its end (each source is one row per customer and period; no source is summed twice).
-- noqa: disable=AL03
customer_periods as (

    select
        customer_id,
        period_type,
        period_label,
        max(order_revenue) as order_revenue,
        max(contract_revenue) as contract_revenue,
        max(cogs) as cogs,
        max(cost_to_serve_support) as cost_to_serve_support,
        max(cost_to_serve_escalations) as cost_to_serve_escalations,
        max(cost_to_serve_returns) as cost_to_serve_returns,
        max(cost_to_serve_expedited) as cost_to_serve_expedited,
        max(cost_to_serve_account_management) as cost_to_serve_account_management,
        max(cost_to_serve) as cost_to_serve,
        max(acquisition_cost) as acquisition_cost,
        max(orders) as orders,
        max(completed_orders) as completed_orders,
        max(tickets) as tickets
    from (
        select * from fact_totals

        union all

        select
            customer_id,
            period_type,
            period_label,
            null,
            contract_revenue,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null
        from contract_totals

        union all

        select
            customer_id,
            period_type,
            period_label,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null
        from signed_up_customer_periods
    ) as period_sources
    group by
        customer_id,
        period_type,
        period_label

),
-- noqa: enable=AL03

-- Amounts are fixed-point (dbt.type_numeric) from here on, so sums do not depend on row
-- order and a review rebuilt later reproduces every amount exactly.
joined as (

    select
        customer_periods.customer_id,
        customer_periods.period_type,
        customer_periods.period_label,
        periods.period_start,
        periods.period_end,
        periods.review_date,
        cast(coalesce(customer_periods.order_revenue, 0) as {{ dbt.type_numeric() }}) as order_revenue,
        cast(coalesce(customer_periods.contract_revenue, 0) as {{ dbt.type_numeric() }}) as contract_revenue,
        cast(coalesce(customer_periods.cogs, 0) as {{ dbt.type_numeric() }}) as cogs,
        cast(coalesce(customer_periods.cost_to_serve_support, 0) as {{ dbt.type_numeric() }}) as cost_to_serve_support,
        cast(coalesce(customer_periods.cost_to_serve_escalations, 0) as {{ dbt.type_numeric() }})
            as cost_to_serve_escalations,
        cast(coalesce(customer_periods.cost_to_serve_returns, 0) as {{ dbt.type_numeric() }}) as cost_to_serve_returns,
        cast(coalesce(customer_periods.cost_to_serve_expedited, 0) as {{ dbt.type_numeric() }})
            as cost_to_serve_expedited,
        cast(coalesce(customer_periods.cost_to_serve_account_management, 0) as {{ dbt.type_numeric() }})
            as cost_to_serve_account_management,
        cast(coalesce(customer_periods.cost_to_serve, 0) as {{ dbt.type_numeric() }}) as cost_to_serve,
        cast(coalesce(customer_periods.acquisition_cost, 0) as {{ dbt.type_numeric() }}) as acquisition_cost,
        cast(coalesce(customer_periods.orders, 0) as {{ dbt.type_bigint() }}) as orders,
        coalesce(customer_periods.completed_orders, 0) as completed_orders,
        cast(coalesce(customer_periods.tickets, 0) as {{ dbt.type_bigint() }}) as tickets
    from customer_periods
    inner join periods
        on customer_periods.period_type = periods.period_type
        and customer_periods.period_label = periods.period_label

),

revenue_and_margin as (

    select
        *,
        order_revenue + contract_revenue as net_revenue,
        order_revenue + contract_revenue - cogs as gross_margin
    from joined

),

profit as (

    select
        *,
        gross_margin - cost_to_serve - acquisition_cost as net_profit
    from revenue_and_margin

),

customer_period_profits as (

    select
        customer_id,
        period_type,
        period_label,
        period_start,
        period_end,
        review_date,
        order_revenue,
        contract_revenue,
        net_revenue,
        cogs,
        gross_margin,
        cost_to_serve_support,
        cost_to_serve_escalations,
        cost_to_serve_returns,
        cost_to_serve_expedited,
        cost_to_serve_account_management,
        cost_to_serve,
        acquisition_cost,
        net_profit,
        {{ divide('gross_margin', 'nullif(net_revenue, 0)') }} as gross_margin_ratio,
        {{ divide('net_profit', 'nullif(net_revenue, 0)') }} as net_profit_ratio,
        orders,
        completed_orders,
        tickets
    from profit

),

{% if is_incremental() %}
-- One row per touched customer without rows left: it makes delete+insert remove the
-- customer's old rows; the post-hook deletes it. Selected inside the union, so that its bare
-- nulls take the other branch's types (PostgreSQL types a CTE's bare null as text).
profits_and_emptied as (

    select * from customer_period_profits
    union all
    select
        customer_id,
        {%- for column in range(22) %}
        null as empty_{{ column }},
        {%- endfor %}
        null as tickets
    from touched_customers
    where customer_id not in (select customer_period_profits.customer_id from customer_period_profits)

),
{% else %}
profits_and_emptied as (

    select * from customer_period_profits

),
{% endif %}

final as (

    select
        profits_and_emptied.*,
        {{ customer_touches_watermark() }} as loaded_through
    from profits_and_emptied

)

select * from final
