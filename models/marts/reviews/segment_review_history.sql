-- Every customer's segments at every review, one row per review_id and customer_id: value
-- tier, lifecycle stage, churn risk, service level, routing queue, rolling-window net
-- revenue and net profit, and predicted CLV, as dim_customer_segments had them at the
-- review. Incremental: a run adds the review of int_review_identified and replaces that
-- review's rows (all of them, so a customer no longer in the review disappears), and keeps
-- every other review. Re-running a past review with the same vars reproduces its rows.
--   duckdb, postgres: delete+insert keyed by review_id;
--   spark: insert_overwrite of the review's partition (Parquet tables have no delete or merge);
--   other adapters: append, after a pre-hook deletes the review's rows (needs an adapter
--   that supports delete, e.g. Delta tables on Spark; not tested here).
-- No build timestamp is stored, so a rebuilt review is identical row for row.
-- predicted_clv was a double before it became money (numeric): the pre-hook
-- upgrade_column_types alters it in place in a history built before, which keeps the past
-- reviews (a full refresh would drop them).
{%- set replaces_by_key = target.type in ['duckdb', 'postgres'] %}
{%- set replaces_partition = target.type == 'spark' %}
{{ config(
    materialized='incremental',
    incremental_strategy=('delete+insert' if replaces_by_key else 'insert_overwrite' if replaces_partition else 'append'),
    partition_by=(['review_id'] if replaces_partition else none),
    unique_key='review_id',
    on_schema_change='fail',
    pre_hook=([] if replaces_by_key or replaces_partition else [
        "{% if is_incremental() %}delete from {{ this }} where review_id in (select review_id from "
        ~ "{{ ref('int_review_identified') }}){% endif %}"
    ]) + ["{{ upgrade_column_types(this, {'predicted_clv': dbt.type_numeric()}) }}"],
) }}

with

review as (

    select * from {{ ref('int_review_identified') }}

),

customer_segments as (

    select * from {{ ref('dim_customer_segments') }}

),

profiles as (

    select * from {{ ref('int_segment_customers_profiled') }}

),

final as (

    select
        review.review_id,
        review.review_type,
        review.review_date,
        review.fiscal_year_label,
        customer_segments.customer_id,
        customer_segments.tenure_band,
        customer_segments.value_tier,
        customer_segments.tier_rank as value_tier_rank,
        customer_segments.value_score,
        customer_segments.lifecycle_stage,
        customer_segments.churn_risk,
        customer_segments.effective_service_level,
        customer_segments.routing_queue,
        {{ as_money('customer_segments.rolling_net_revenue') }} as rolling_net_revenue,
        {{ as_money('customer_segments.rolling_gross_margin') }} as rolling_gross_margin,
        {{ as_money('customer_segments.rolling_cost_to_serve') }} as rolling_cost_to_serve,
        {{ as_money('customer_segments.rolling_net_profit') }} as rolling_net_profit,
        -- the customer's share of the review's net profit: summed over any group of
        -- customers it gives the group's share of profit (the semantic layer's
        -- share_of_profit), which a metric over sums alone cannot express
        {{ divide(
            'customer_segments.rolling_net_profit',
            'nullif(sum(customer_segments.rolling_net_profit) over (), 0)'
        ) }} as rolling_net_profit_share,
        {{ as_money('customer_segments.historical_clv') }} as historical_clv,
        {{ as_money('profiles.predicted_clv') }} as predicted_clv
    from customer_segments
    inner join review
        on customer_segments.review_date = review.review_date
    inner join profiles
        on customer_segments.customer_id = profiles.customer_id

)

select * from final
