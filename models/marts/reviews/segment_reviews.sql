-- One row per review kept in segment_review_history, with the previous review of the same
-- type (the one segment_migrations and segment_movers compare it with) and its totals.
with

history as (

    select * from {{ ref('segment_review_history') }}

),

reviews as (

    select
        review_id,
        review_type,
        review_date,
        fiscal_year_label,
        count(*) as customers,
        sum(rolling_net_revenue) as rolling_net_revenue,
        sum(rolling_net_profit) as rolling_net_profit,
        sum(predicted_clv) as predicted_clv
    from history
    group by
        review_id,
        review_type,
        review_date,
        fiscal_year_label

),

final as (

    select
        review_id,
        review_type,
        review_date,
        fiscal_year_label,
        lag(review_id) over (partition by review_type order by review_date, review_id) as previous_review_id,
        lag(review_date) over (partition by review_type order by review_date, review_id) as previous_review_date,
        {{ as_count('row_number() over (partition by review_type order by review_date, review_id)') }}
            as review_sequence,
        customers,
        {{ as_money('rolling_net_revenue') }} as rolling_net_revenue,
        {{ as_money('rolling_net_profit') }} as rolling_net_profit,
        {{ as_money('predicted_clv') }} as predicted_clv
    from reviews

)

select * from final
