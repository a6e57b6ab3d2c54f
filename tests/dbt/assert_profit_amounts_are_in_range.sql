-- Range checks on the marts: revenue, COGS, every cost and count is >= 0; net profit is
-- gross margin less costs; the whale curve's customer share is in (0, 1] and ends at 1
-- with cumulative profit equal to the total; concentration shares of customers are in
-- [0, 1]. Returns one row per broken rule and period.
with

customer_profitability as (

    select * from {{ ref('customer_profitability') }}

),

lifetime as (

    select * from {{ ref('customer_lifetime_profitability') }}

),

whale_curve as (

    select * from {{ ref('whale_curve') }}

),

profit_concentration as (

    select * from {{ ref('profit_concentration') }}

),

measures as (

    select
        period_label,
        order_revenue,
        contract_revenue,
        cogs,
        cost_to_serve_support,
        cost_to_serve_escalations,
        cost_to_serve_returns,
        cost_to_serve_expedited,
        cost_to_serve_account_management,
        cost_to_serve,
        acquisition_cost,
        net_revenue,
        gross_margin,
        net_profit,
        orders,
        completed_orders,
        tickets
    from customer_profitability
    union all
    select
        'lifetime' as period_label,
        order_revenue,
        contract_revenue,
        cogs,
        cost_to_serve_support,
        cost_to_serve_escalations,
        cost_to_serve_returns,
        cost_to_serve_expedited,
        cost_to_serve_account_management,
        cost_to_serve,
        acquisition_cost,
        net_revenue,
        gross_margin,
        net_profit,
        orders,
        completed_orders,
        tickets
    from lifetime

),

measure_problems as (

    select
        'negative_amount_or_bad_count' as problem,
        period_label,
        count(*) as rows_affected
    from measures
    where order_revenue < 0 or contract_revenue < 0 or cogs < 0
        or cost_to_serve_support < 0 or cost_to_serve_escalations < 0
        or cost_to_serve_returns < 0 or cost_to_serve_expedited < 0
        or cost_to_serve_account_management < 0 or acquisition_cost < 0
        or orders < 0 or completed_orders > orders or tickets < 0
    group by period_label

    union all

    select
        'measures_do_not_add_up' as problem,
        period_label,
        count(*) as rows_affected
    from measures
    where abs(net_revenue - order_revenue - contract_revenue) > 0.01
        or abs(gross_margin - net_revenue + cogs) > 0.01
        or abs(
            cost_to_serve - cost_to_serve_support - cost_to_serve_escalations
            - cost_to_serve_returns - cost_to_serve_expedited - cost_to_serve_account_management
        ) > 0.01
        or abs(net_profit - gross_margin + cost_to_serve + acquisition_cost) > 0.01
    group by period_label

),

curve_problems as (

    select
        'customer_share_out_of_range' as problem,
        period_label,
        count(*) as rows_affected
    from whale_curve
    where cumulative_customer_share <= 0 or cumulative_customer_share > 1
    group by period_label

    union all

    select
        'curve_does_not_end_at_the_total' as problem,
        period_label,
        count(*) as rows_affected
    from whale_curve
    where profit_rank = customers
        and (
            cumulative_customer_share <> 1
            or {{ amounts_differ('cumulative_net_profit', 'total_net_profit') }}
        )
    group by period_label

),

concentration_problems as (

    select
        'concentration_share_out_of_range' as problem,
        period_label,
        count(*) as rows_affected
    from profit_concentration
    where negative_profit_customer_share < 0 or negative_profit_customer_share > 1
        or break_even_customer_share < 0 or break_even_customer_share > 1
        or peak_cumulative_net_profit < 0
        or peak_cumulative_net_profit < total_net_profit - 0.01
    group by period_label

),

final as (

    select * from measure_problems
    union all
    select * from curve_problems
    union all
    select * from concentration_problems

)

select * from final
