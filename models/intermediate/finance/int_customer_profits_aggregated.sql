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

-- All dated facts in one column set (null where a fact does not carry a measure), so one
-- range join to the periods and one aggregation replace one of each per fact type and the
-- joins between them.
{%- set activity_measures = {
    'support_minutes': 'cost_to_serve_support',
    'escalation': 'cost_to_serve_escalations',
    'return': 'cost_to_serve_returns',
    'expedited_order': 'cost_to_serve_expedited',
    'account_management': 'cost_to_serve_account_management',
} %}
dated_facts as (

    select
        customer_id,
        ordered_date as fact_date,
        net_revenue as order_revenue,
        cogs,
        null as order_count,
        null as completed_order_count,
        null as ticket_count,
        {%- for measure in activity_measures.values() %}
        null as {{ measure }},
        {%- endfor %}
        null as cost_to_serve,
        null as acquisition_cost
    from order_lines

    union all

    select
        customer_id,
        ordered_date as fact_date,
        null as order_revenue,
        null as cogs,
        1 as order_count,
        case when order_status = 'completed' then 1 else 0 end as completed_order_count,
        null as ticket_count,
        {%- for measure in activity_measures.values() %}
        null as {{ measure }},
        {%- endfor %}
        null as cost_to_serve,
        null as acquisition_cost
    from clean_orders

    union all

    select
        customer_id,
        opened_date as fact_date,
        null as order_revenue,
        null as cogs,
        null as order_count,
        null as completed_order_count,
        1 as ticket_count,
        {%- for measure in activity_measures.values() %}
        null as {{ measure }},
        {%- endfor %}
        null as cost_to_serve,
        null as acquisition_cost
    from clean_tickets

    union all

    select
        customer_id,
        activity_date as fact_date,
        null as order_revenue,
        null as cogs,
        null as order_count,
        null as completed_order_count,
        null as ticket_count,
        {%- for activity, measure in activity_measures.items() %}
        case when activity = '{{ activity }}' then cost else 0 end as {{ measure }},
        {%- endfor %}
        cost as cost_to_serve,
        null as acquisition_cost
    from activities

    union all

    select
        customer_id,
        acquisition_date as fact_date,
        null as order_revenue,
        null as cogs,
        null as order_count,
        null as completed_order_count,
        null as ticket_count,
        {%- for measure in activity_measures.values() %}
        null as {{ measure }},
        {%- endfor %}
        null as cost_to_serve,
        acquisition_cost
    from acquisition_costs

),

daily_facts as (

    select
        customer_id,
        fact_date,
        sum(order_revenue) as order_revenue,
        sum(cogs) as cogs,
        count(order_count) as orders,
        sum(completed_order_count) as completed_orders,
        count(ticket_count) as tickets,
        {%- for measure in activity_measures.values() %}
        sum({{ measure }}) as {{ measure }},
        {%- endfor %}
        sum(cost_to_serve) as cost_to_serve,
        sum(acquisition_cost) as acquisition_cost
    from dated_facts
    group by
        customer_id,
        fact_date

),

-- Per day first, then per period: the range join to the (overlapping) periods multiplies
-- the days a customer was active, not every fact row.
dated_fact_totals as (

    select
        daily_facts.customer_id,
        periods.period_type,
        periods.period_label,
        sum(daily_facts.order_revenue) as order_revenue,
        sum(daily_facts.cogs) as cogs,
        cast(sum(daily_facts.orders) as {{ dbt.type_bigint() }}) as orders,
        sum(daily_facts.completed_orders) as completed_orders,
        cast(sum(daily_facts.tickets) as {{ dbt.type_bigint() }}) as tickets,
        {%- for measure in activity_measures.values() %}
        sum(daily_facts.{{ measure }}) as {{ measure }},
        {%- endfor %}
        sum(daily_facts.cost_to_serve) as cost_to_serve,
        sum(daily_facts.acquisition_cost) as acquisition_cost
    from daily_facts
    inner join periods
        on daily_facts.fact_date >= periods.period_start
        and daily_facts.fact_date <= periods.period_end
    group by
        daily_facts.customer_id,
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
    select customer_id, period_type, period_label from dated_fact_totals
    union
    select customer_id, period_type, period_label from contract_totals

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
        cast(coalesce(dated_fact_totals.order_revenue, 0) as {{ dbt.type_numeric() }}) as order_revenue,
        cast(coalesce(contract_totals.contract_revenue, 0) as {{ dbt.type_numeric() }}) as contract_revenue,
        cast(coalesce(dated_fact_totals.cogs, 0) as {{ dbt.type_numeric() }}) as cogs,
        {%- for measure in activity_measures.values() %}
        cast(coalesce(dated_fact_totals.{{ measure }}, 0) as {{ dbt.type_numeric() }}) as {{ measure }},
        {%- endfor %}
        cast(coalesce(dated_fact_totals.cost_to_serve, 0) as {{ dbt.type_numeric() }}) as cost_to_serve,
        cast(coalesce(dated_fact_totals.acquisition_cost, 0) as {{ dbt.type_numeric() }}) as acquisition_cost,
        coalesce(dated_fact_totals.orders, 0) as orders,
        coalesce(dated_fact_totals.completed_orders, 0) as completed_orders,
        coalesce(dated_fact_totals.tickets, 0) as tickets
    from customer_periods
    inner join periods
        on customer_periods.period_type = periods.period_type
        and customer_periods.period_label = periods.period_label
    left join dated_fact_totals
        on customer_periods.customer_id = dated_fact_totals.customer_id
        and customer_periods.period_type = dated_fact_totals.period_type
        and customer_periods.period_label = dated_fact_totals.period_label
    left join contract_totals
        on customer_periods.customer_id = contract_totals.customer_id
        and customer_periods.period_type = contract_totals.period_type
        and customer_periods.period_label = contract_totals.period_label

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
        gross_margin / nullif(net_revenue, 0) as gross_margin_ratio,
        net_profit / nullif(net_revenue, 0) as net_profit_ratio,
        orders,
        completed_orders,
        tickets
    from profit

)

select * from final
