{#- The models incremental by customer (the customer-day aggregates, the cost-to-serve
    activities, the profits per customer and period) recompute the customers that loads
    after their watermark touched, as listed once per run by int_customers_touched_by_loads
    (which says what touches a customer). Each such model keeps that table's watermark at
    the time it was built in its column loaded_through. -#}

{#- The latest load the model `this` has seen; before any row, a date before any load
    (an empty table built before the first load must not stay empty). -#}
{% macro customer_aggregate_watermark() -%}
    coalesce((select max(loaded_through) from {{ this }}), cast('1900-01-01 00:00:00' as {{ dbt.type_timestamp() }}))
{%- endmacro %}


{#- The value of loaded_through for the rows being built: the watermark of
    int_customers_touched_by_loads (built before, in the same run). -#}
{% macro customer_touches_watermark() -%}
    (select max(touched_by_load_at) from {{ ref('int_customers_touched_by_loads') }})
{%- endmacro %}


{#- The customers touched by loads after the watermark of `this`. If `this` was built before
    the last full build of int_customers_touched_by_loads (whose row without customer_id holds
    that build's watermark), the touches in between are unknown: every customer. -#}
{% macro customers_touched_since_watermark() -%}
    select customer_id from {{ ref('int_customers_touched_by_loads') }}
    where customer_id is not null
        and touched_by_load_at > {{ customer_aggregate_watermark() }}
    union
    select customer_id from {{ ref('int_customers_validated') }}
    where {{ customer_aggregate_watermark() }} < (
        select max(touched_by_load_at) from {{ ref('int_customers_touched_by_loads') }}
        where customer_id is null
    )
{%- endmacro %}


{#- The customers whose finance results (cost to serve, profits) may have changed since the
    watermark of `this`: those loads touched (above); every customer of an account manager
    and of an acquisition channel and signup month that a customer row loaded since had in
    any version (the manager's monthly cost and the channel-month's spend are shared among
    them); and every customer when new cost rates or acquisition spend were loaded, or
    `changed_everything` (an SQL condition, e.g. another review date) holds. -#}
{% macro finance_customers_touched_since_watermark(changed_everything='false') -%}
    {{ customers_touched_since_watermark() }}
    union
    select sharing.customer_id
    from {{ ref('int_customers_validated') }} as sharing
    inner join (
        select distinct account_manager_id
        from {{ ref('int_customers_validated') }}
        where customer_id in (
            select customer_id from {{ ref('int_customers_validated') }}
            where _loaded_at > {{ customer_aggregate_watermark() }}
        )
    ) as loaded_managers
        on sharing.account_manager_id = loaded_managers.account_manager_id
    union
    select sharing.customer_id
    from {{ ref('int_customers_validated') }} as sharing
    inner join (
        select distinct
            acquisition_channel,
            {{ dbt.date_trunc('month', 'signup_date') }} as signup_month
        from {{ ref('int_customers_validated') }}
        where customer_id in (
            select customer_id from {{ ref('int_customers_validated') }}
            where _loaded_at > {{ customer_aggregate_watermark() }}
        )
    ) as loaded_channel_months
        on sharing.acquisition_channel = loaded_channel_months.acquisition_channel
        and {{ dbt.date_trunc('month', 'sharing.signup_date') }} = loaded_channel_months.signup_month
    union
    select customer_id from {{ ref('int_customers_validated') }}
    where {{ finance_changed_everything(changed_everything) }}
{%- endmacro %}


{#- Whether every customer's finance results may have changed since the watermark of `this`:
    new cost rates or acquisition spend were loaded, or `changed_everything` holds (an SQL
    condition without the model's CTEs). -#}
{% macro finance_changed_everything(changed_everything='false') -%}
    (
        ({{ changed_everything }})
        or exists (
            select 1 from {{ ref('int_cost_rates_validated') }}
            where _loaded_at > {{ customer_aggregate_watermark() }}
        )
        or exists (
            select 1 from {{ ref('int_acquisition_spend_validated') }}
            where _loaded_at > {{ customer_aggregate_watermark() }}
        )
    )
{%- endmacro %}


{#- The pre-hook of a finance model incremental by customer: when every customer changed
    (finance_changed_everything), empty the table first, so that the run costs what a full
    build costs instead of deleting every customer's rows one key at a time. -#}
{% macro finance_empty_when_everything_changed(changed_everything='false') -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where {{ finance_changed_everything(changed_everything) }}
    {%- endif -%}
{%- endmacro %}


{#- When the review date moves forward by a few days (a daily refresh: the default review
    date is the latest order's date), the finance models recompute only the customers with a
    fact on a day that entered or left a period, and a post-hook moves every other row to the
    new dates; everything is recomputed when the review date moves back or by more than
    31 days (then most customers have a fact in the moved days, and emptying the table
    costs less than replacing every customer one key at a time). -#}


{#- The review date of `this` (column review_date) is not the one being built, and the new
    one is not at most `max_days` later: the model is recomputed for every customer. -#}
{% macro review_date_moved_far(max_days=31) -%}
    coalesce(
        not (
            {{ dbt.datediff('(select max(review_date) from ' ~ this ~ ')',
                '(select review_date from ' ~ ref('int_review_parameters') ~ ')', 'day') }}
            between 0 and {{ max_days }}
        ),
        true
    )
{%- endmacro %}


{#- The customers whose cost-to-serve activities changed when the review date moved forward
    from the one of `this` (at most a few days, see review_date_moved_far): a clean ticket or
    order dated in the days that entered the history, or an account-manager month that ended
    in them. -#}
{% macro cost_customers_in_moved_days() -%}
    {%- set previous_review_date = '(select max(review_date) from ' ~ this ~ ')' -%}
    {%- set review_date = '(select review_date from ' ~ ref('int_review_parameters') ~ ')' -%}
    select customer_id from {{ ref('int_support_tickets_validated') }}
    where not is_quarantined
        and opened_date > {{ previous_review_date }} and opened_date <= {{ review_date }}
    union
    select customer_id from {{ ref('int_orders_validated') }}
    where not is_quarantined
        and ordered_date > {{ previous_review_date }} and ordered_date <= {{ review_date }}
    union
    select customer_id from {{ ref('int_account_manager_costs_allocated') }}
    where month_end > {{ previous_review_date }} and month_end <= {{ review_date }}
{%- endmacro %}


{#- The moment `this` keeps the review date of the rows it did not recompute up to date. -#}
{% macro cost_rows_moved_to_review_date() -%}
    update {{ this }}
    set review_date = (select review_date from {{ ref('int_review_parameters') }})
    where review_date <> (select review_date from {{ ref('int_review_parameters') }})
{%- endmacro %}


{#- A period's key across review dates: the rolling window's label names its end date, so it
    is known by its type alone. -#}
{% macro reporting_period_key(relation='') -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    case
        when {{ prefix }}period_type in ('fiscal_year', 'lifetime') then {{ prefix }}period_label
        else {{ prefix }}period_type
    end
{%- endmacro %}


{#- Every profit must be recomputed: the review date moved back or far
    (review_date_moved_far). Otherwise the periods may differ in any way (a fiscal year begins,
    the rolling window moves): the days that entered or left a period say which customers
    changed (reporting_period_moved_days). -#}
{% macro reporting_periods_moved_far() -%}
    ({{ review_date_moved_far() }})
{%- endmacro %}


{#- The customers whose profits changed when the periods moved (same periods, the review date
    a few days later): a fact dated on a day that entered or left a period (an order day, a
    clean ticket, a cost-to-serve activity, a clean customer's signup, which is also the date
    of its acquisition cost, int_acquisition_costs_allocated) or a clean contract covering one
    of them. The model defines moved_days (reporting_period_moved_days: ranges, per period,
    old against new bounds) and moved_dates (each of their days once): a fact is looked up by
    an equality join on its date, a contract by its range. -#}
{% macro profit_customers_in_moved_days() -%}
    select customer_id from {{ ref('int_customer_order_days_aggregated') }} as facts
    where facts.ordered_date in (select moved_dates.fact_date from moved_dates)
    union
    select customer_id from {{ ref('int_support_tickets_validated') }} as facts
    where not facts.is_quarantined
        and facts.opened_date in (select moved_dates.fact_date from moved_dates)
    union
    select customer_id from {{ ref('int_cost_to_serve_activities_costed') }} as facts
    where facts.activity_date in (select moved_dates.fact_date from moved_dates)
    union
    select customer_id from {{ ref('int_customers_validated') }} as facts
    where not facts.is_quarantined
        and facts.signup_date in (select moved_dates.fact_date from moved_dates)
    union
    select customer_id from {{ ref('int_service_contracts_validated') }} as facts
    inner join moved_days
        on facts.start_date <= moved_days.last_day
        and (facts.end_date is null or facts.end_date >= moved_days.first_day)
    where not facts.is_quarantined
{%- endmacro %}


{#- The days that entered or left a period between the periods of `this` and the ones being
    built, as ranges of days (first_day, last_day inclusive), per period (the rolling window
    known by its type): every day of a period added or removed, else the days between its
    old and new start and between its old and new end; empty when nothing moved. -#}
{% macro reporting_period_moved_days() -%}
    with previous_periods as (
        select distinct
            {{ reporting_period_key() }} as period_key,
            period_start,
            period_end
        from {{ this }}
    ),
    current_periods as (
        select
            {{ reporting_period_key() }} as period_key,
            period_start,
            period_end
        from {{ ref('int_reporting_periods_defined') }}
    ),
    bounds as (
        select
            previous_periods.period_start as previous_start,
            previous_periods.period_end as previous_end,
            current_periods.period_start as current_start,
            current_periods.period_end as current_end
        from previous_periods
        full outer join current_periods
            on previous_periods.period_key = current_periods.period_key
    )
    select
        coalesce(previous_start, current_start) as first_day,
        coalesce(previous_end, current_end) as last_day
    from bounds
    where previous_start is null or current_start is null
    union all
    select
        least(previous_start, current_start) as first_day,
        cast({{ dbt.dateadd('day', -1, 'greatest(previous_start, current_start)') }} as date) as last_day
    from bounds
    where previous_start <> current_start
    union all
    select
        cast({{ dbt.dateadd('day', 1, 'least(previous_end, current_end)') }} as date) as first_day,
        greatest(previous_end, current_end) as last_day
    from bounds
    where previous_end <> current_end
{%- endmacro %}


{#- The rows of a period that no longer exists (e.g. another rolling window). -#}
{% macro profit_rows_of_ended_periods_deleted() -%}
    delete from {{ this }}
    where {{ reporting_period_key() }} not in (
        select {{ reporting_period_key() }} from {{ ref('int_reporting_periods_defined') }}
    )
{%- endmacro %}


{#- The rows of `this` that were not recomputed take their period's new label and dates. -#}
{% macro profit_rows_moved_to_periods() -%}
    update {{ this }}
    set
        period_label = periods.period_label,
        period_start = periods.period_start,
        period_end = periods.period_end,
        review_date = periods.review_date
    from {{ ref('int_reporting_periods_defined') }} as periods
    where {{ reporting_period_key(this) }} = {{ reporting_period_key('periods') }}
        and (
            {{ this }}.period_label <> periods.period_label
            or {{ this }}.period_start <> periods.period_start
            or {{ this }}.period_end <> periods.period_end
            or {{ this }}.review_date <> periods.review_date
        )
{%- endmacro %}


{#- A customer not recomputed has no fact in a period added since (its days all moved), so
    its row of that period is the one every clean customer signed up by the period's end
    has: zeros. -#}
{% macro profit_rows_added_for_new_periods() -%}
    insert into {{ this }} (
        customer_id, period_type, period_label, period_start, period_end, review_date,
        order_revenue, contract_revenue, net_revenue, cogs, gross_margin,
        cost_to_serve_support, cost_to_serve_escalations, cost_to_serve_returns,
        cost_to_serve_expedited, cost_to_serve_account_management, cost_to_serve,
        acquisition_cost, net_profit, gross_margin_ratio, net_profit_ratio,
        orders, completed_orders, tickets, loaded_through
    )
    select
        kept.customer_id,
        periods.period_type,
        periods.period_label,
        periods.period_start,
        periods.period_end,
        periods.review_date,
        {#- The 13 amounts, typed as money: PostgreSQL keeps a bare 0's scale in a column of
            unconstrained numeric, where a full build writes 0.000000. #}
        {%- for money_column in range(13) %}
        {{ as_money('0') }},
        {%- endfor %}
        null, null,
        0, 0, 0,
        kept.loaded_through
    from (
        select
            customer_id,
            max(loaded_through) as loaded_through
        from {{ this }}
        group by customer_id
    ) as kept
    inner join {{ ref('int_customers_validated') }} as customers
        on kept.customer_id = customers.customer_id
        and not customers.is_quarantined
    inner join {{ ref('int_reporting_periods_defined') }} as periods
        on customers.signup_date <= periods.period_end
    where not exists (
        select 1 from {{ this }} as existing
        where existing.customer_id = kept.customer_id
            and {{ reporting_period_key('existing') }} = {{ reporting_period_key('periods') }}
    )
{%- endmacro %}
