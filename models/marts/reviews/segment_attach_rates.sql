-- Service attach rate per review and segment: of the customers in the segment at the
-- review (segment_review_history, families value_tier, lifecycle_stage and churn_risk, the
-- ones the history keeps), those with a clean paid service contract running on the review
-- date (started on or before it, not ended before it: as int_segment_customers_profiled's
-- service_plan), the attach rate, and the contract revenue recognised in the review's
-- rolling window (var rolling_window_months ending on the review date; annual_fee / 365 per
-- covered day, as int_service_contract_revenues_allocated), with the change since the
-- previous review of the same type (segment_reviews). Contracts are read as the warehouse
-- holds them now, so a contract loaded after a past review counts for it if it started by then.
{%- set rolling_window_months = sql_literal(var('rolling_window_months', 12), 'number', 'rolling_window_months') %}

with

history as (

    select * from {{ ref('segment_review_history') }}

),

reviews as (

    select * from {{ ref('segment_reviews') }}

),

service_contracts as (

    select * from {{ ref('int_service_contracts_validated') }}

),

review_windows as (

    select
        review_id,
        review_type,
        review_date,
        previous_review_id,
        cast(
            {{ dbt.dateadd('day', 1, dbt.dateadd('month', '-' ~ rolling_window_months, 'review_date')) }}
            as date
        ) as rolling_window_start
    from reviews

),

clean_contracts as (

    select
        customer_id,
        annual_fee,
        start_date,
        end_date
    from service_contracts
    where not is_quarantined

),

contract_windows as (

    select
        review_windows.review_id,
        clean_contracts.customer_id,
        case
            when clean_contracts.end_date is null or clean_contracts.end_date >= review_windows.review_date
                then 1
            else 0
        end as is_running_on_review_date,
        case
            when coalesce(clean_contracts.end_date, review_windows.review_date) >= review_windows.rolling_window_start
                then {{ divide('clean_contracts.annual_fee', '365') }} * ({{ dbt.datediff(
                    'case when clean_contracts.start_date > review_windows.rolling_window_start'
                    ~ ' then clean_contracts.start_date else review_windows.rolling_window_start end',
                    'case when clean_contracts.end_date is null or clean_contracts.end_date > review_windows.review_date'
                    ~ ' then review_windows.review_date else clean_contracts.end_date end',
                    'day') }} + 1)
            else 0
        end as window_revenue
    from review_windows
    inner join clean_contracts
        on clean_contracts.start_date <= review_windows.review_date

),

customer_contracts as (

    select
        review_id,
        customer_id,
        max(is_running_on_review_date) as has_contract_on_review_date,
        -- a decimal sum: the same to the bit on every build (macros/portable/numbers.sql)
        {{ exact_sum('window_revenue') }} as rolling_contract_revenue
    from contract_windows
    group by
        review_id,
        customer_id

),

customer_segments as (

    {%- for family, column in [
        ('value_tier', 'value_tier'), ('lifecycle_stage', 'lifecycle_stage'), ('churn_risk', 'churn_risk')
    ] %}
    select
        review_id,
        customer_id,
        '{{ family }}' as segment_family,
        {{ column }} as segment
    from history
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}

),

segment_totals as (

    select
        customer_segments.review_id,
        customer_segments.segment_family,
        customer_segments.segment,
        count(*) as customers,
        sum(coalesce(customer_contracts.has_contract_on_review_date, 0)) as contract_customers,
        sum(coalesce(customer_contracts.rolling_contract_revenue, 0)) as contract_revenue
    from customer_segments
    left join customer_contracts
        on customer_segments.review_id = customer_contracts.review_id
        and customer_segments.customer_id = customer_contracts.customer_id
    group by
        customer_segments.review_id,
        customer_segments.segment_family,
        customer_segments.segment

),

with_previous as (

    select
        review_windows.review_id,
        review_windows.review_type,
        review_windows.review_date,
        review_windows.previous_review_id,
        segment_totals.segment_family,
        segment_totals.segment,
        segment_totals.customers,
        segment_totals.contract_customers,
        {{ divide('segment_totals.contract_customers', 'segment_totals.customers') }} as attach_rate,
        segment_totals.contract_revenue,
        previous_totals.customers as previous_customers,
        previous_totals.contract_customers as previous_contract_customers,
        {{ divide('previous_totals.contract_customers', 'nullif(previous_totals.customers, 0)') }}
            as previous_attach_rate,
        previous_totals.contract_revenue as previous_contract_revenue
    from segment_totals
    inner join review_windows
        on segment_totals.review_id = review_windows.review_id
    left join segment_totals as previous_totals
        on review_windows.previous_review_id = previous_totals.review_id
        and segment_totals.segment_family = previous_totals.segment_family
        and segment_totals.segment = previous_totals.segment

),

final as (

    select
        review_id,
        review_type,
        review_date,
        previous_review_id,
        segment_family,
        segment,
        {{ as_count('customers') }} as customers,
        {{ as_count('contract_customers') }} as contract_customers,
        attach_rate,
        {{ as_money('contract_revenue') }} as contract_revenue,
        {{ as_count('previous_contract_customers') }} as previous_contract_customers,
        previous_attach_rate,
        attach_rate - previous_attach_rate as attach_rate_change,
        {{ as_money('previous_contract_revenue') }} as previous_contract_revenue,
        {{ as_money('contract_revenue - previous_contract_revenue') }} as contract_revenue_change
    from with_previous

)

select * from final
