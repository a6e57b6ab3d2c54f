-- Customer lifetime value as of the review date, one row per customer:
-- historical CLV (cumulative net profit to date) and predicted CLV (expected future gross
-- margin over each horizon, discounted), with P(alive) and expected purchases.
-- Customers without a completed purchase have no BG/NBD summary: their predictions are 0.
-- Columns for the 12 and 36 month horizons (the contract's); every horizon of the var
-- clv_horizons_months is in customer_clv_horizons, one row per customer and horizon.
{%- set horizons = clv_wide_horizons_months() %}

with

lifetime as (

    select * from {{ ref('customer_lifetime_profitability') }}

),

predicted as (

    select * from {{ ref('int_customer_clv_predicted') }}

),

final as (

    select
        lifetime.customer_id,
        lifetime.review_date,
        {{ as_money('lifetime.net_profit') }} as historical_clv,
        {{ as_money('lifetime.gross_margin') }} as historical_gross_margin,
        predicted.customer_id is not null as has_completed_purchase,
        coalesce(predicted.frequency, 0) as frequency,
        predicted.recency_weeks,
        predicted.age_weeks,
        {{ as_money('predicted.mean_repeat_margin') }} as mean_repeat_margin,
        coalesce(predicted.is_one_time_buyer, false) as is_one_time_buyer,
        predicted.p_alive,
        {{ as_money('coalesce(predicted.expected_margin_per_purchase, 0)') }} as expected_margin_per_purchase,
        {%- for months in horizons %}
        coalesce(predicted.expected_purchases_{{ months }}m, 0) as expected_purchases_{{ months }}m,
        {{ as_money('coalesce(predicted.predicted_clv_' ~ months ~ 'm, 0)') }} as predicted_clv_{{ months }}m,
        {%- endfor %}
        case
            when predicted.customer_id is null then 'no_completed_purchase: no prediction, CLV 0'
            else predicted.clv_note
        end as clv_note
    from lifetime
    left join predicted
        on lifetime.customer_id = predicted.customer_id

)

select * from final
