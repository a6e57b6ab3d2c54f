-- For every manager-month, the cost allocated to customers plus the unallocated cost
-- equals the manager's monthly cost, and the activity rows carry exactly the allocations.
-- Returns the manager-months (or the activity total) that do not add up.
with

manager_months as (

    select * from {{ ref('int_account_manager_months_costed') }}

),

allocations as (

    select * from {{ ref('int_account_manager_costs_allocated') }}

),

unallocated as (

    select * from {{ ref('int_account_manager_months_unallocated') }}

),

activities as (

    select * from {{ ref('int_cost_to_serve_activities_costed') }}

),

allocated_per_month as (

    select
        account_manager_id,
        month_start,
        sum(allocated_cost) as allocated_cost
    from allocations
    group by
        account_manager_id,
        month_start

),

month_checks as (

    select
        manager_months.account_manager_id,
        manager_months.month_start,
        manager_months.monthly_cost,
        coalesce(allocated_per_month.allocated_cost, 0) as allocated_cost,
        coalesce(unallocated.unallocated_cost, 0) as unallocated_cost
    from manager_months
    left join allocated_per_month
        on manager_months.account_manager_id = allocated_per_month.account_manager_id
        and manager_months.month_start = allocated_per_month.month_start
    left join unallocated
        on manager_months.account_manager_id = unallocated.account_manager_id
        and manager_months.month_start = unallocated.month_start

),

total_check as (

    select
        'activities' as account_manager_id,
        cast(null as date) as month_start,
        (select coalesce(sum(allocations.allocated_cost), 0) from allocations) as monthly_cost,
        coalesce(sum(cost), 0) as allocated_cost,
        0 as unallocated_cost
    from activities
    where activity = 'account_management'

),

final as (

    select * from month_checks
    where abs(monthly_cost - allocated_cost - unallocated_cost) > 0.01
    union all
    select * from total_check
    where {{ amounts_differ('monthly_cost', 'allocated_cost') }}

)

select * from final
