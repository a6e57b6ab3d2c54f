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


{#- The review date of `this` (column review_date) is not the one being built. -#}
{% macro review_date_changed() -%}
    (select max(review_date) from {{ this }})
    is distinct from (select review_date from {{ ref('int_review_parameters') }})
{%- endmacro %}


{#- A period of int_reporting_periods_defined is not exactly as in `this` (its columns
    period_type, period_label, period_start, period_end, review_date), or the reverse. -#}
{% macro reporting_periods_changed() -%}
    exists (
        select period_type, period_label, period_start, period_end, review_date
        from {{ ref('int_reporting_periods_defined') }}
        except
        select period_type, period_label, period_start, period_end, review_date from {{ this }}
    )
    or exists (
        select period_type, period_label, period_start, period_end, review_date from {{ this }}
        except
        select period_type, period_label, period_start, period_end, review_date
        from {{ ref('int_reporting_periods_defined') }}
    )
{%- endmacro %}
