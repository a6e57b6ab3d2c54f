-- The RFM summary the CLV models are fitted on, per customer, in WEEKS (days / 7):
--   frequency   repeat purchase days after the first (x)
--   recency     weeks from the first to the last purchase (t_x)
--   age         weeks from the first purchase to the as-of date (T)
--   mean_repeat_margin  mean gross margin of the repeat purchase days (first one excluded)
-- Two summaries: 'review' as of the review date (for prediction), and 'calibration' as of
-- review_date - clv_holdout_weeks, with the purchases in the holdout that follows (for
-- validation). Only purchases on or before each as-of date count.
{%- set holdout_days = 7 * (var('clv_holdout_weeks', 26) | int) %}

with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

purchase_days as (

    select * from {{ ref('int_customer_purchase_days_aggregated') }}

),

cutoffs as (

    select
        'review' as summary_type,
        review_date as as_of_date,
        cast(null as date) as holdout_end_date
    from review_parameters

    union all

    select
        'calibration' as summary_type,
        cast({{ dbt.dateadd('day', -holdout_days, 'review_date') }} as date) as as_of_date,
        review_date as holdout_end_date
    from review_parameters

),

purchases_as_of as (

    select
        cutoffs.summary_type,
        cutoffs.as_of_date,
        cutoffs.holdout_end_date,
        purchase_days.customer_id,
        purchase_days.purchase_date,
        purchase_days.gross_margin,
        row_number() over (
            partition by cutoffs.summary_type, purchase_days.customer_id
            order by purchase_days.purchase_date
        ) as purchase_number
    from purchase_days
    inner join cutoffs
        on purchase_days.purchase_date <= cutoffs.as_of_date

),

summarized as (

    select
        summary_type,
        customer_id,
        as_of_date,
        holdout_end_date,
        min(purchase_date) as first_purchase_date,
        max(purchase_date) as last_purchase_date,
        count(*) - 1 as frequency,
        sum(case when purchase_number > 1 then gross_margin end) as repeat_margin,
        sum(gross_margin) as total_margin
    from purchases_as_of
    group by
        summary_type,
        customer_id,
        as_of_date,
        holdout_end_date

),

holdout_purchases as (

    select
        purchase_days.customer_id,
        count(*) as holdout_purchases
    from purchase_days
    inner join cutoffs
        on cutoffs.summary_type = 'calibration'
        and purchase_days.purchase_date > cutoffs.as_of_date
        and purchase_days.purchase_date <= cutoffs.holdout_end_date
    group by purchase_days.customer_id

),

final as (

    select
        summarized.summary_type,
        summarized.customer_id,
        summarized.as_of_date,
        summarized.holdout_end_date,
        summarized.first_purchase_date,
        summarized.last_purchase_date,
        summarized.frequency,
        {{ dbt.datediff('summarized.first_purchase_date', 'summarized.last_purchase_date', 'day') }} / 7.0
            as recency_weeks,
        {{ dbt.datediff('summarized.first_purchase_date', 'summarized.as_of_date', 'day') }} / 7.0
            as age_weeks,
        case
            when summarized.frequency > 0 then summarized.repeat_margin / summarized.frequency
        end as mean_repeat_margin,
        summarized.total_margin,
        case
            when summarized.summary_type = 'calibration'
                then coalesce(holdout_purchases.holdout_purchases, 0)
        end as holdout_purchases,
        case
            when summarized.summary_type = 'calibration'
                then {{ dbt.datediff('summarized.as_of_date', 'summarized.holdout_end_date', 'day') }} / 7.0
        end as holdout_weeks
    from summarized
    -- Join on the key alone: a predicate on the left side only (summary_type) in a LEFT
    -- JOIN's ON clause makes DuckDB plan a blockwise nested-loop join, quadratic in customers
    -- (tests/test_query_plans.py). The case expressions above keep holdout figures to the
    -- calibration rows.
    left join holdout_purchases
        on summarized.customer_id = holdout_purchases.customer_id

)

select * from final
