-- What each account manager costs per month, and how many customers share that cost.
-- Managers are the account_manager_id values of clean customers signed up by the review
-- date. A manager is costed for every month from the month their first customer signed up
-- (the source has no hire dates; an early customer of someone else must not make every
-- manager cost money from that date) to the last month that ended on or before the review
-- date: a month is booked on its last
-- day (month_end), once complete. The monthly cost is the account_manager_year rate valid
-- on month_end divided by 12; without a rate it is 0 and has_rate is false. Customers
-- sharing a month are the manager's clean customers signed up by month_end; a month with
-- none is unallocated (int_account_manager_months_unallocated).
{%- set max_months = 1200 %}

with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

customers as (

    select * from {{ ref('int_customers_validated') }}

),

cost_rates as (

    select * from {{ ref('int_cost_rates_validated') }}

),

known_customers as (

    select
        customers.customer_id,
        customers.signup_date,
        customers.account_manager_id
    from customers
    cross join review_parameters
    where not customers.is_quarantined
        and customers.signup_date <= review_parameters.review_date

),

managed_customers as (

    select * from known_customers
    where account_manager_id is not null

),

managers as (

    select
        account_manager_id,
        cast({{ dbt.date_trunc('month', 'min(signup_date)') }} as date) as first_month_start
    from managed_customers
    group by account_manager_id

),

month_range as (

    select
        min(managers.first_month_start) as first_month_start,
        review_parameters.review_date
    from managers
    cross join review_parameters
    group by review_parameters.review_date

),

month_numbers as (

    {{ dbt.generate_series(max_months) }}

),

months as (

    select
        cast(
            {{ dbt.dateadd('month', 'month_numbers.generated_number - 1', 'month_range.first_month_start') }}
            as date
        ) as month_start,
        cast(
            {{ dbt.dateadd('day', -1, dbt.dateadd('month', 'month_numbers.generated_number', 'month_range.first_month_start')) }}  -- noqa: LT05
            as date
        ) as month_end,
        month_range.review_date
    from month_range
    cross join month_numbers

),

complete_months as (

    select
        month_start,
        month_end
    from months
    where month_end <= review_date

),

manager_months as (

    select
        managers.account_manager_id,
        complete_months.month_start,
        complete_months.month_end
    from managers
    inner join complete_months
        on complete_months.month_start >= managers.first_month_start

),

assigned as (

    select
        manager_months.account_manager_id,
        manager_months.month_start,
        manager_months.month_end,
        count(managed_customers.customer_id) as assigned_customers
    from manager_months
    left join managed_customers
        on manager_months.account_manager_id = managed_customers.account_manager_id
        and managed_customers.signup_date <= manager_months.month_end
    group by
        manager_months.account_manager_id,
        manager_months.month_start,
        manager_months.month_end

),

manager_rates as (

    select
        valid_from,
        valid_to,
        rate
    from cost_rates
    where not is_quarantined
        and activity = 'account_manager_year'

),

costed as (

    select
        assigned.account_manager_id,
        assigned.month_start,
        assigned.month_end,
        assigned.assigned_customers,
        manager_rates.rate as annual_rate,
        manager_rates.rate is not null as has_rate,
        {{ divide('coalesce(manager_rates.rate, 0)', '12') }} as monthly_cost
    from assigned
    left join manager_rates
        on manager_rates.valid_from <= assigned.month_end
        and (manager_rates.valid_to is null or assigned.month_end < manager_rates.valid_to)

),

final as (

    select
        account_manager_id,
        month_start,
        month_end,
        assigned_customers,
        assigned_customers > 0 as is_allocated,
        annual_rate,
        has_rate,
        monthly_cost
    from costed

)

select * from final
