-- The whale curve of every period (fiscal years, rolling window, lifetime): customers
-- ranked by net profit, most profitable first, with the cumulative share of customers
-- (x) and the cumulative net profit as a share of the period's total net profit (y).
-- Ties are broken by customer_id so the curve is reproducible.
with

customer_profits as (

    select * from {{ ref('int_customer_profits_aggregated') }}

),

ranked as (

    select
        period_type,
        period_label,
        period_start,
        period_end,
        review_date,
        customer_id,
        net_profit,
        row_number() over (
            partition by period_type, period_label
            order by net_profit desc, customer_id asc
        ) as profit_rank,
        count(*) over (partition by period_type, period_label) as customers,
        sum(net_profit) over (
            partition by period_type, period_label
            order by net_profit desc, customer_id asc
            rows between unbounded preceding and current row
        ) as cumulative_net_profit,
        sum(net_profit) over (partition by period_type, period_label) as total_net_profit
    from customer_profits

),

final as (

    select
        period_type,
        period_label,
        period_start,
        period_end,
        review_date,
        customer_id,
        {{ as_money('net_profit') }} as net_profit,
        {{ as_count("profit_rank") }} as profit_rank,
        {{ as_count("customers") }} as customers,
        {{ as_money('cumulative_net_profit') }} as cumulative_net_profit,
        {{ as_money('total_net_profit') }} as total_net_profit,
        {{ divide('profit_rank', 'customers') }} as cumulative_customer_share,
        {{ divide('cumulative_net_profit', 'nullif(total_net_profit, 0)') }} as cumulative_profit_share
    from ranked

)

select * from final
