-- Profit and loss per customer, cumulative from the first fact to the review date, with
-- the customer's order history span. Amounts are in the reporting currency.
with

customer_profits as (

    select * from {{ ref('int_customer_profits_aggregated') }}

),

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

customers as (

    select * from {{ ref('int_customers_validated') }}

),

orders as (

    select * from {{ ref('int_orders_validated') }}

),

lifetime_profits as (

    select * from customer_profits
    where period_type = 'lifetime'

),

clean_customers as (

    select
        customer_id,
        signup_date
    from customers
    where not is_quarantined

),

order_history as (

    select
        orders.customer_id,
        min(orders.ordered_date) as first_order_date,
        max(orders.ordered_date) as last_order_date
    from orders
    cross join review_parameters
    where not orders.is_quarantined
        and orders.ordered_date <= review_parameters.review_date
    group by orders.customer_id

),

final as (

    select
        lifetime_profits.customer_id,
        clean_customers.signup_date,
        order_history.first_order_date,
        order_history.last_order_date,
        {{ as_count(dbt.datediff('clean_customers.signup_date', 'lifetime_profits.review_date', 'day')) }}
            as tenure_days,
        lifetime_profits.review_date,
        review_parameters.reporting_currency as currency,
        {{ as_money('lifetime_profits.order_revenue') }} as order_revenue,
        {{ as_money('lifetime_profits.contract_revenue') }} as contract_revenue,
        {{ as_money('lifetime_profits.net_revenue') }} as net_revenue,
        {{ as_money('lifetime_profits.cogs') }} as cogs,
        {{ as_money('lifetime_profits.gross_margin') }} as gross_margin,
        {{ as_money('lifetime_profits.cost_to_serve_support') }} as cost_to_serve_support,
        {{ as_money('lifetime_profits.cost_to_serve_escalations') }} as cost_to_serve_escalations,
        {{ as_money('lifetime_profits.cost_to_serve_returns') }} as cost_to_serve_returns,
        {{ as_money('lifetime_profits.cost_to_serve_expedited') }} as cost_to_serve_expedited,
        {{ as_money('lifetime_profits.cost_to_serve_account_management') }} as cost_to_serve_account_management,
        {{ as_money('lifetime_profits.cost_to_serve') }} as cost_to_serve,
        {{ as_money('lifetime_profits.acquisition_cost') }} as acquisition_cost,
        {{ as_money('lifetime_profits.net_profit') }} as net_profit,
        lifetime_profits.gross_margin_ratio,
        lifetime_profits.net_profit_ratio,
        lifetime_profits.orders,
        {{ as_count('lifetime_profits.completed_orders') }} as completed_orders,
        lifetime_profits.tickets
    from lifetime_profits
    cross join review_parameters
    left join clean_customers
        on lifetime_profits.customer_id = clean_customers.customer_id
    left join order_history
        on lifetime_profits.customer_id = order_history.customer_id

)

select * from final
