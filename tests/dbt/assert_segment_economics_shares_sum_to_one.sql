-- Customer, revenue and net profit shares sum to 1 in every segment family of
-- segment_economics (a share is null only when the family total is 0). Rows = failures.
with

economics as (

    select * from {{ ref('segment_economics') }}

),

totals as (

    select
        segment_family,
        sum(customer_share) as customer_share,
        sum(revenue_share) as revenue_share,
        sum(net_profit_share) as net_profit_share,
        count(revenue_share) as revenue_shares,
        count(net_profit_share) as net_profit_shares
    from economics
    group by segment_family

),

final as (

    select * from totals
    where
        abs(customer_share - 1) > 0.000001
        or (revenue_shares > 0 and abs(revenue_share - 1) > 0.000001)
        or (net_profit_shares > 0 and abs(net_profit_share - 1) > 0.000001)

)

select * from final
