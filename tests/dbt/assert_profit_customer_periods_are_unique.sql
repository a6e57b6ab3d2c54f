-- customer_profitability has one row per customer and period.
with

customer_profitability as (

    select * from {{ ref('customer_profitability') }}

),

final as (

    select
        customer_id,
        period_type,
        period_label,
        count(*) as occurrences
    from customer_profitability
    group by
        customer_id,
        period_type,
        period_label
    having count(*) > 1

)

select * from final
