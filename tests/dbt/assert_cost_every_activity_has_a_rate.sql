-- Fails when a costed activity or an account-manager month found no valid rate: it was
-- kept with cost 0, so cost to serve is understated until the rate is supplied.
with

activities as (

    select * from {{ ref('int_cost_to_serve_activities_costed') }}

),

manager_months as (

    select * from {{ ref('int_account_manager_months_costed') }}

),

unrated_activities as (

    select
        activity,
        support_channel,
        activity_date,
        count(*) as activities
    from activities
    where not has_rate
    group by
        activity,
        support_channel,
        activity_date

),

unrated_manager_months as (

    select
        'account_manager_year' as activity,
        cast(null as {{ dbt.type_string() }}) as support_channel,
        month_end as activity_date,
        count(*) as activities
    from manager_months
    where not has_rate
    group by month_end

),

final as (

    select * from unrated_activities
    union all
    select * from unrated_manager_months

)

select * from final
