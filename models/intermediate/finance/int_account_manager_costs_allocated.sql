-- Each account manager's monthly cost split equally across the manager's clean customers
-- signed up by the month's end: one row per manager, month and customer, booked on
-- month_end. Months without customers are in int_account_manager_months_unallocated.
with

manager_months as (

    select * from {{ ref('int_account_manager_months_costed') }}

),

customers as (

    select * from {{ ref('int_customers_validated') }}

),

managed_customers as (

    select
        customer_id,
        signup_date,
        account_manager_id
    from customers
    where not is_quarantined
        and account_manager_id is not null

),

allocated as (

    select
        manager_months.account_manager_id,
        manager_months.month_start,
        manager_months.month_end,
        managed_customers.customer_id,
        manager_months.assigned_customers,
        manager_months.annual_rate,
        manager_months.has_rate,
        manager_months.monthly_cost,
        {{ divide('1', '12 * manager_months.assigned_customers') }} as manager_years,
        {{ divide('manager_months.monthly_cost', 'manager_months.assigned_customers') }} as allocated_cost
    from manager_months
    inner join managed_customers
        on manager_months.account_manager_id = managed_customers.account_manager_id
        and managed_customers.signup_date <= manager_months.month_end
    where manager_months.is_allocated

),

final as (

    select * from allocated

)

select * from final
