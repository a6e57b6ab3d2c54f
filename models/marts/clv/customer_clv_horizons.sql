-- Predicted CLV per customer and horizon: one row per customer of customer_clv and horizon
-- of the var clv_horizons_months (any list of months), 0 without a completed purchase.
{%- set horizons = var('clv_horizons_months', [12, 36]) | map('int') | list %}

with

customer_clv as (

    select * from {{ ref('customer_clv') }}

),

horizon_scores as (

    select * from {{ ref('stg_clv__customer_horizon_scores') }}

),

horizons as (

    {%- for months in horizons %}
    select cast({{ months | int }} as {{ dbt.type_int() }}) as horizon_months
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

final as (

    select
        customer_clv.customer_id,
        customer_clv.review_date,
        horizons.horizon_months,
        coalesce(horizon_scores.expected_purchases, 0) as expected_purchases,
        {{ as_money('coalesce(horizon_scores.predicted_clv, 0)') }} as predicted_clv
    from customer_clv
    cross join horizons
    left join horizon_scores
        on customer_clv.customer_id = horizon_scores.customer_id
        and horizons.horizon_months = horizon_scores.horizon_months

)

select * from final
