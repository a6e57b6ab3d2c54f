-- Profit and loss per customer and reporting period (fiscal years, the rolling window and
-- lifetime), from the activity-grain finance models. Every clean customer signed up by a
-- period's end has a row for it, with zeros when nothing happened; a customer with dated
-- facts in a period before signing up gets a row too, so no amount is ever dropped.
-- The marts customer_profitability and customer_lifetime_profitability read this model.
with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

periods as (

    select * from {{ ref('int_reporting_periods_defined') }}

),

customers as (

    select * from {{ ref('int_customers_validated') }}

),

orders as (

    select * from {{ ref('int_orders_validated') }}

),

support_tickets as (

    select * from {{ ref('int_support_tickets_validated') }}

),

order_lines as (

    select * from {{ ref('int_order_lines_priced') }}

),

activities as (

    select * from {{ ref('int_cost_to_serve_activities_costed') }}

),

contract_revenues as (

    select * from {{ ref('int_service_contract_revenues_allocated') }}

),

acquisition_costs as (

    select * from {{ ref('int_acquisition_costs_allocated') }}

),

known_customers as (

    select
        customers.customer_id,
        customers.signup_date
    from customers
    cross join review_parameters
    where not customers.is_quarantined
        and customers.signup_date <= review_parameters.review_date

),

clean_orders as (

    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_date,
        orders.order_status
    from orders
    cross join review_parameters
    where not orders.is_quarantined
        and orders.ordered_date <= review_parameters.review_date

),

clean_tickets as (

    select
        support_tickets.ticket_id,
        support_tickets.customer_id,
        support_tickets.opened_date
    from support_tickets
    cross join review_parameters
    where not support_tickets.is_quarantined
        and support_tickets.opened_date <= review_parameters.review_date

),

order_line_totals as (

    select
        order_lines.customer_id,
        periods.period_type,
        periods.period_label,
        sum(order_lines.net_revenue) as order_revenue,
        sum(order_lines.cogs) as cogs
    from order_lines
    inner join periods
        on order_lines.ordered_date >= periods.period_start
        and order_lines.ordered_date <= periods.period_end
    group by
        order_lines.customer_id,
        periods.period_type,
        periods.period_label

),

order_counts as (

    select
        clean_orders.customer_id,
        periods.period_type,
        periods.period_label,
        count(*) as orders,
        sum(case when clean_orders.order_status = 'completed' then 1 else 0 end) as completed_orders
    from clean_orders
    inner join periods
        on clean_orders.ordered_date >= periods.period_start
        and clean_orders.ordered_date <= periods.period_end
    group by
        clean_orders.customer_id,
        periods.period_type,
        periods.period_label

),

ticket_counts as (

    select
        clean_tickets.customer_id,
        periods.period_type,
        periods.period_label,
        count(*) as tickets
    from clean_tickets
    inner join periods
        on clean_tickets.opened_date >= periods.period_start
        and clean_tickets.opened_date <= periods.period_end
    group by
        clean_tickets.customer_id,
        periods.period_type,
        periods.period_label

),

activity_totals as (

    select
        activities.customer_id,
        periods.period_type,
        periods.period_label,
        sum(case when activities.activity = 'support_minutes' then activities.cost else 0 end) as cost_to_serve_support,
        sum(case when activities.activity = 'escalation' then activities.cost else 0 end) as cost_to_serve_escalations,
        sum(case when activities.activity = 'return' then activities.cost else 0 end) as cost_to_serve_returns,
        sum(case when activities.activity = 'expedited_order' then activities.cost else 0 end) as cost_to_serve_expedited,
        sum(case when activities.activity = 'account_management' then activities.cost else 0 end) as cost_to_serve_account_management,
        sum(activities.cost) as cost_to_serve
    from activities
    inner join periods
        on activities.activity_date >= periods.period_start
        and activities.activity_date <= periods.period_end
    group by
        activities.customer_id,
        periods.period_type,
        periods.period_label

),

contract_totals as (

    select
        customer_id,
        period_type,
        period_label,
        sum(contract_revenue) as contract_revenue
    from contract_revenues
    group by
        customer_id,
        period_type,
        period_label

),

acquisition_totals as (

    select
        acquisition_costs.customer_id,
        periods.period_type,
        periods.period_label,
        sum(acquisition_costs.acquisition_cost) as acquisition_cost
    from acquisition_costs
    inner join periods
        on acquisition_costs.acquisition_date >= periods.period_start
        and acquisition_costs.acquisition_date <= periods.period_end
    group by
        acquisition_costs.customer_id,
        periods.period_type,
        periods.period_label

),

signed_up_customer_periods as (

    select
        known_customers.customer_id,
        periods.period_type,
        periods.period_label
    from known_customers
    inner join periods
        on known_customers.signup_date <= periods.period_end

),

customer_periods as (

    select customer_id, period_type, period_label from signed_up_customer_periods
    union
    select customer_id, period_type, period_label from order_line_totals
    union
    select customer_id, period_type, period_label from order_counts
    union
    select customer_id, period_type, period_label from ticket_counts
    union
    select customer_id, period_type, period_label from activity_totals
    union
    select customer_id, period_type, period_label from contract_totals
    union
    select customer_id, period_type, period_label from acquisition_totals

),

-- Amounts are fixed-point (dbt.type_numeric) from here on, so sums do not depend on row
-- order and a review rebuilt later reproduces every amount exactly.
joined as (

    select
        customer_periods.customer_id,
        customer_periods.period_type,
        customer_periods.period_label,
        periods.period_start,
        periods.period_end,
        periods.review_date,
        cast(coalesce(order_line_totals.order_revenue, 0) as {{ dbt.type_numeric() }}) as order_revenue,
        cast(coalesce(contract_totals.contract_revenue, 0) as {{ dbt.type_numeric() }}) as contract_revenue,
        cast(coalesce(order_line_totals.cogs, 0) as {{ dbt.type_numeric() }}) as cogs,
        cast(coalesce(activity_totals.cost_to_serve_support, 0) as {{ dbt.type_numeric() }}) as cost_to_serve_support,
        cast(coalesce(activity_totals.cost_to_serve_escalations, 0) as {{ dbt.type_numeric() }}) as cost_to_serve_escalations,
        cast(coalesce(activity_totals.cost_to_serve_returns, 0) as {{ dbt.type_numeric() }}) as cost_to_serve_returns,
        cast(coalesce(activity_totals.cost_to_serve_expedited, 0) as {{ dbt.type_numeric() }}) as cost_to_serve_expedited,
        cast(coalesce(activity_totals.cost_to_serve_account_management, 0) as {{ dbt.type_numeric() }}) as cost_to_serve_account_management,
        cast(coalesce(activity_totals.cost_to_serve, 0) as {{ dbt.type_numeric() }}) as cost_to_serve,
        cast(coalesce(acquisition_totals.acquisition_cost, 0) as {{ dbt.type_numeric() }}) as acquisition_cost,
        coalesce(order_counts.orders, 0) as orders,
        coalesce(order_counts.completed_orders, 0) as completed_orders,
        coalesce(ticket_counts.tickets, 0) as tickets
    from customer_periods
    inner join periods
        on customer_periods.period_type = periods.period_type
        and customer_periods.period_label = periods.period_label
    left join order_line_totals
        on customer_periods.customer_id = order_line_totals.customer_id
        and customer_periods.period_type = order_line_totals.period_type
        and customer_periods.period_label = order_line_totals.period_label
    left join order_counts
        on customer_periods.customer_id = order_counts.customer_id
        and customer_periods.period_type = order_counts.period_type
        and customer_periods.period_label = order_counts.period_label
    left join ticket_counts
        on customer_periods.customer_id = ticket_counts.customer_id
        and customer_periods.period_type = ticket_counts.period_type
        and customer_periods.period_label = ticket_counts.period_label
    left join activity_totals
        on customer_periods.customer_id = activity_totals.customer_id
        and customer_periods.period_type = activity_totals.period_type
        and customer_periods.period_label = activity_totals.period_label
    left join contract_totals
        on customer_periods.customer_id = contract_totals.customer_id
        and customer_periods.period_type = contract_totals.period_type
        and customer_periods.period_label = contract_totals.period_label
    left join acquisition_totals
        on customer_periods.customer_id = acquisition_totals.customer_id
        and customer_periods.period_type = acquisition_totals.period_type
        and customer_periods.period_label = acquisition_totals.period_label

),

revenue_and_margin as (

    select
        *,
        order_revenue + contract_revenue as net_revenue,
        order_revenue + contract_revenue - cogs as gross_margin
    from joined

),

profit as (

    select
        *,
        gross_margin - cost_to_serve - acquisition_cost as net_profit
    from revenue_and_margin

),

final as (

    select
        customer_id,
        period_type,
        period_label,
        period_start,
        period_end,
        review_date,
        order_revenue,
        contract_revenue,
        net_revenue,
        cogs,
        gross_margin,
        cost_to_serve_support,
        cost_to_serve_escalations,
        cost_to_serve_returns,
        cost_to_serve_expedited,
        cost_to_serve_account_management,
        cost_to_serve,
        acquisition_cost,
        net_profit,
        {{ divide('gross_margin', 'nullif(net_revenue, 0)') }} as gross_margin_ratio,
        {{ divide('net_profit', 'nullif(net_revenue, 0)') }} as net_profit_ratio,
        orders,
        completed_orders,
        tickets
    from profit

)

select * from final
