-- profit_concentration has one row per period, and one per period of the whale curve.
with

profit_concentration as (

    select * from {{ ref('profit_concentration') }}

),

periods as (

    select * from {{ ref('int_reporting_periods_defined') }}

),

duplicates as (

    select
        period_type,
        period_label,
        count(*) as occurrences
    from profit_concentration
    group by
        period_type,
        period_label
    having count(*) > 1

),

missing as (

    select
        periods.period_type,
        periods.period_label,
        0 as occurrences
    from periods
    left join profit_concentration
        on periods.period_type = profit_concentration.period_type
        and periods.period_label = profit_concentration.period_label
    where profit_concentration.period_label is null

),

final as (

    select * from duplicates
    union all
    select * from missing

)

select * from final
