-- whale_curve has one point per period and customer, and one per period and rank.
with

whale_curve as (

    select * from {{ ref('whale_curve') }}

),

by_customer as (

    select
        period_type,
        period_label,
        customer_id as curve_point,
        count(*) as occurrences
    from whale_curve
    group by
        period_type,
        period_label,
        customer_id
    having count(*) > 1

),

by_rank as (

    select
        period_type,
        period_label,
        {{ dbt.safe_cast("profit_rank", api.Column.translate_type("string")) }} as curve_point,
        count(*) as occurrences
    from whale_curve
    group by
        period_type,
        period_label,
        profit_rank
    having count(*) > 1

),

final as (

    select * from by_customer
    union all
    select * from by_rank

)

select * from final
