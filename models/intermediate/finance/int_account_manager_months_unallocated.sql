-- Account-manager months that no customer carries: the manager had no clean customer
-- signed up by the month's end yet. Listed so that no cost is lost silently: allocated
-- plus unallocated cost equals the managers' monthly cost
-- (tests/dbt/assert_cost_account_management_conserved.sql).
with

manager_months as (

    select * from {{ ref('int_account_manager_months_costed') }}

),

final as (

    select
        account_manager_id,
        month_start,
        month_end,
        annual_rate,
        has_rate,
        monthly_cost as unallocated_cost
    from manager_months
    where not is_allocated

)

select * from final
