-- Predicted CLV per customer with a completed purchase, as the CLV step scored it
-- (segmentation/clv/step.py, source clv): P(alive), expected margin per purchase, and the
-- expected purchases and discounted CLV of customer_clv's horizons as columns.
{%- set wide_horizons = clv_wide_horizons_months() %}

with

customer_scores as (

    select * from {{ ref('stg_clv__customer_scores') }}

),

horizon_scores as (

    select * from {{ ref('stg_clv__customer_horizon_scores') }}

),

-- The lines of an unrolled Jinja loop are indented wrongly by sqlfluff (LT02).
-- noqa: disable=LT02
horizons_as_columns as (

    select
        customer_id,
        {%- for months in wide_horizons %}
        max(case when horizon_months = {{ months }} then expected_purchases end) as expected_purchases_{{ months }}m,
        max(case when horizon_months = {{ months }} then predicted_clv end) as predicted_clv_{{ months }}m
        {{- ',' if not loop.last }}
        {%- endfor %}
    from horizon_scores
    group by customer_id

),
-- noqa: enable=LT02

final as (

    select
        customer_scores.customer_id,
        customer_scores.review_date,
        customer_scores.time_unit,
        customer_scores.frequency,
        customer_scores.recency_weeks,
        customer_scores.age_weeks,
        customer_scores.mean_repeat_margin,
        customer_scores.is_one_time_buyer,
        customer_scores.p_alive,
        customer_scores.expected_margin_per_purchase,
        {%- for months in wide_horizons %}
        horizons_as_columns.expected_purchases_{{ months }}m,
        horizons_as_columns.predicted_clv_{{ months }}m,
        {%- endfor %}
        customer_scores.clv_note
    from customer_scores
    left join horizons_as_columns
        on customer_scores.customer_id = horizons_as_columns.customer_id

)

select * from final
