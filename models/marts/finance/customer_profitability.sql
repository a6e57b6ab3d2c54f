-- Profit and loss per customer and reporting period: every fiscal year and the rolling
-- window ending on the review date. Amounts are in the reporting currency.
with

customer_profits as (

    select * from {{ ref('int_customer_profits_aggregated') }}

),

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

final as (

    select
        customer_profits.customer_id,
        customer_profits.period_type,
        customer_profits.period_label,
        customer_profits.period_start,
        customer_profits.period_end,
        customer_profits.review_date,
        review_parameters.reporting_currency as currency,
        {{ as_money('customer_profits.order_revenue') }} as order_revenue,
        {{ as_money('customer_profits.contract_revenue') }} as contract_revenue,
        {{ as_money('customer_profits.net_revenue') }} as net_revenue,
        {{ as_money('customer_profits.cogs') }} as cogs,
        {{ as_money('customer_profits.gross_margin') }} as gross_margin,
        {{ as_money('customer_profits.cost_to_serve_support') }} as cost_to_serve_support,
        {{ as_money('customer_profits.cost_to_serve_escalations') }} as cost_to_serve_escalations,
        {{ as_money('customer_profits.cost_to_serve_returns') }} as cost_to_serve_returns,
        {{ as_money('customer_profits.cost_to_serve_expedited') }} as cost_to_serve_expedited,
        {{ as_money('customer_profits.cost_to_serve_account_management') }} as cost_to_serve_account_management,
        {{ as_money('customer_profits.cost_to_serve') }} as cost_to_serve,
        {{ as_money('customer_profits.acquisition_cost') }} as acquisition_cost,
        {{ as_money('customer_profits.net_profit') }} as net_profit,
        customer_profits.gross_margin_ratio,
        customer_profits.net_profit_ratio,
        customer_profits.orders,
        {{ as_count('customer_profits.completed_orders') }} as completed_orders,
        customer_profits.tickets
    from customer_profits
    cross join review_parameters
    where customer_profits.period_type <> 'lifetime'

)

select * from final
