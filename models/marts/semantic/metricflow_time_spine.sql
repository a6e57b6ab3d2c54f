-- One row per day, the time spine MetricFlow joins metrics to (dbt's date_spine macro is
-- portable). The range covers any review the generator or a plausible user produces.
{{ config(materialized='table') }}

with

days as (

    {{ dbt.date_spine('day', "cast('2000-01-01' as date)", "cast('2051-01-01' as date)") }}

),

final as (

    select cast(date_day as date) as date_day
    from days

)

select * from final
