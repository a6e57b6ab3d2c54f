-- The fiscal years partition lifetime: per customer, every additive measure summed over
-- the fiscal years of customer_profitability equals customer_lifetime_profitability.
{%- set measures = ['order_revenue', 'contract_revenue', 'cogs', 'cost_to_serve_support',
    'cost_to_serve_escalations', 'cost_to_serve_returns', 'cost_to_serve_expedited',
    'cost_to_serve_account_management', 'acquisition_cost', 'net_profit', 'orders', 'tickets'] %}

with

customer_profitability as (

    select * from {{ ref('customer_profitability') }}

),

lifetime as (

    select * from {{ ref('customer_lifetime_profitability') }}

),

fiscal_year_sums as (

    select
        customer_id,
        {%- for measure in measures %}
        sum({{ measure }}) as {{ measure }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from customer_profitability
    where period_type = 'fiscal_year'
    group by customer_id

),

final as (

    select lifetime.customer_id
    from lifetime
    left join fiscal_year_sums
        on lifetime.customer_id = fiscal_year_sums.customer_id
    where
        false
        {%- for measure in measures %}
        or abs(lifetime.{{ measure }} - coalesce(fiscal_year_sums.{{ measure }}, 0)) > 0.01
        {%- endfor %}

)

select * from final
