-- How concentrated profit is, one row per period (fiscal years, rolling window, lifetime),
-- read off the whale curve. Shares of total net profit are null when the total is 0.
with

whale_curve as (

    select * from {{ ref('whale_curve') }}

),

summarised as (

    select
        period_type,
        period_label,
        period_start,
        period_end,
        review_date,
        count(*) as customers,
        sum(net_profit) as total_net_profit,
        -- the top 20% of customers: ranks 1 .. floor(customers / 5)
        sum(case when 5 * profit_rank <= customers then net_profit else 0 end) as top_20pct_net_profit,
        sum(case when net_profit < 0 then 1 else 0 end) as negative_profit_customers,
        -- the whale curve starts at (0, 0): the peak is never below 0
        max(case when cumulative_net_profit > 0 then cumulative_net_profit else 0 end) as peak_cumulative_net_profit,
        -- after the last customer with net_profit >= 0 every customer lowers cumulative profit
        max(case when net_profit >= 0 then cumulative_customer_share else 0 end) as break_even_customer_share
    from whale_curve
    group by
        period_type,
        period_label,
        period_start,
        period_end,
        review_date

),

final as (

    select
        period_type,
        period_label,
        period_start,
        period_end,
        review_date,
        customers,
        {{ as_money('total_net_profit') }} as total_net_profit,
        {{ divide('top_20pct_net_profit', 'nullif(total_net_profit, 0)') }} as top_20pct_profit_share,
        {{ as_count('negative_profit_customers') }} as negative_profit_customers,
        {{ divide('negative_profit_customers', 'customers') }} as negative_profit_customer_share,
        break_even_customer_share,
        {{ as_money('peak_cumulative_net_profit') }} as peak_cumulative_net_profit,
        {{ divide('peak_cumulative_net_profit', 'nullif(total_net_profit, 0)') }} as peak_cumulative_profit_share
    from summarised

)

select * from final
