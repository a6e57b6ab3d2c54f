-- P(alive) within [0, 1]; predicted CLV and expected purchases never negative nor NaN.
-- DuckDB, Postgres and Spark order NaN above every number, so the upper bound catches it.
{%- set horizons = clv_wide_horizons_months() %}
{%- set ceiling = 1e15 %}
select customer_id
from {{ ref('customer_clv') }}
where
    (p_alive is not null and not (p_alive >= 0 and p_alive <= 1))
    or (has_completed_purchase and p_alive is null)
    {%- for months in horizons %}
    or not (predicted_clv_{{ months }}m >= 0 and predicted_clv_{{ months }}m < {{ ceiling }})
    or not (expected_purchases_{{ months }}m >= 0 and expected_purchases_{{ months }}m < {{ ceiling }})
    {%- endfor %}
