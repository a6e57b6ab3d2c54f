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
        customer_profits.order_revenue,
        customer_profits.contract_revenue,
        customer_profits.net_revenue,
        customer_profits.cogs,
        customer_profits.gross_margin,
        customer_profits.cost_to_serve_support,
        customer_profits.cost_to_serve_escalations,
        customer_profits.cost_to_serve_returns,
        customer_profits.cost_to_serve_expedited,
        customer_profits.cost_to_serve_account_management,
        customer_profits.cost_to_serve,
        customer_profits.acquisition_cost,
        customer_profits.net_profit,
        customer_profits.gross_margin_ratio,
        customer_profits.net_profit_ratio,
        customer_profits.orders,
        customer_profits.completed_orders,
        customer_profits.tickets
    from customer_profits
    cross join review_parameters
    where customer_profits.period_type <> 'lifetime'

)

select * from final
