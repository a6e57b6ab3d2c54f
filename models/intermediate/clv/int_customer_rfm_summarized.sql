-- The RFM summary the CLV models are fitted on, per customer, in WEEKS (days / 7):
--   frequency   repeat purchase days after the first (x)
--   recency     weeks from the first to the last purchase (t_x)
--   age         weeks from the first purchase to the as-of date (T)
--   mean_repeat_margin  mean gross margin of the repeat purchase days (first one excluded)
-- Two summaries: 'review' as of the review date (for prediction), and 'calibration' as of
-- review_date - clv_holdout_weeks, with the purchases in the holdout that follows (for
-- validation). Only purchases on or before each as-of date count.
-- One pass over the purchase days computes both summaries with conditional aggregates (no
-- join of the purchase days against the cut-offs, no numbering of every purchase): the
-- first purchase day is the same for both (the earliest one), so the repeat margin is the
-- total less the first day's margin, exact in decimals.
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
        review_date,
        cast({{ dbt.dateadd('day', -holdout_days, 'review_date') }} as date) as calibration_end_date
    from review_parameters

),

purchases as (

    select
        purchase_days.customer_id,
        purchase_days.purchase_date,
        purchase_days.gross_margin,
        cutoffs.review_date,
        cutoffs.calibration_end_date,
        purchase_days.purchase_date <= cutoffs.calibration_end_date as is_calibration_purchase
    from purchase_days
    cross join cutoffs
    where purchase_days.purchase_date <= cutoffs.review_date

),

per_customer as (

    select
        customer_id,
        review_date,
        calibration_end_date,
        min(purchase_date) as first_purchase_date,
        max(purchase_date) as last_purchase_date,
        count(*) as purchase_days,
        sum(gross_margin) as total_margin,
        max(case when is_calibration_purchase then purchase_date end) as calibration_last_purchase_date,
        count(case when is_calibration_purchase then 1 end) as calibration_purchase_days,
        sum(case when is_calibration_purchase then gross_margin end) as calibration_total_margin,
        count(case when not is_calibration_purchase then 1 end) as holdout_purchases
    from purchases
    group by
        customer_id,
        review_date,
        calibration_end_date

),

first_purchases as (

    select
        per_customer.*,
        purchase_days.gross_margin as first_margin
    from per_customer
    inner join purchase_days
        on per_customer.customer_id = purchase_days.customer_id
        and per_customer.first_purchase_date = purchase_days.purchase_date

),

summarized as (

    select
        'review' as summary_type,
        customer_id,
        review_date as as_of_date,
        cast(null as date) as holdout_end_date,
        first_purchase_date,
        last_purchase_date,
        purchase_days - 1 as frequency,
        total_margin - first_margin as repeat_margin,
        total_margin,
        cast(null as {{ dbt.type_bigint() }}) as holdout_purchases
    from first_purchases

    union all

    select
        'calibration' as summary_type,
        customer_id,
        calibration_end_date as as_of_date,
        review_date as holdout_end_date,
        first_purchase_date,
        calibration_last_purchase_date as last_purchase_date,
        calibration_purchase_days - 1 as frequency,
        calibration_total_margin - first_margin as repeat_margin,
        calibration_total_margin as total_margin,
        holdout_purchases
    from first_purchases
    where calibration_purchase_days > 0

),

final as (

    select
        summary_type,
        customer_id,
        as_of_date,
        holdout_end_date,
        first_purchase_date,
        last_purchase_date,
        frequency,
        -- LT05 measures dbt.datediff's multi-line expansion, not this line.
        {{ dbt.datediff('first_purchase_date', 'last_purchase_date', 'day') }} / 7.0 as recency_weeks,  -- noqa: LT05
        {{ dbt.datediff('first_purchase_date', 'as_of_date', 'day') }} / 7.0 as age_weeks,  -- noqa: LT05
        case
            when frequency > 0 then repeat_margin / frequency
        end as mean_repeat_margin,
        total_margin,
        holdout_purchases,
        case
            when summary_type = 'calibration'
                then {{ dbt.datediff('as_of_date', 'holdout_end_date', 'day') }} / 7.0  -- noqa: LT05
        end as holdout_weeks
    from summarized

)

select * from final
