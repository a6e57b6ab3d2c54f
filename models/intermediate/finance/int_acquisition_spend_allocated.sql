-- Acquisition spend per channel and month (spend_month on or before the review date) with
-- the clean customers acquired through that channel in that month (signed up by the review
-- date). Spend is split equally across those customers (spend_per_customer); a month with
-- spend but no customer is unallocated (unallocated_spend) and reported by the test
-- assert_cost_acquisition_spend_unallocated. A customer with a given acquisition cost still
-- takes its share here, so allocated spend equals the spend of months with customers.
with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

acquisition_spend as (

    select * from {{ ref('int_acquisition_spend_validated') }}

),

customers as (

    select * from {{ ref('int_customers_validated') }}

),

clean_spend as (

    select
        acquisition_spend.acquisition_channel,
        acquisition_spend.spend_month,
        acquisition_spend.spend_amount
    from acquisition_spend
    cross join review_parameters
    where not acquisition_spend.is_quarantined
        and acquisition_spend.spend_month <= review_parameters.review_date

),

acquired as (

    select
        customers.acquisition_channel,
        cast({{ dbt.date_trunc('month', 'customers.signup_date') }} as date) as signup_month,
        count(*) as customers_acquired
    from customers
    cross join review_parameters
    where not customers.is_quarantined
        and customers.signup_date <= review_parameters.review_date
    group by
        customers.acquisition_channel,
        cast({{ dbt.date_trunc('month', 'customers.signup_date') }} as date)

),

joined as (

    select
        clean_spend.acquisition_channel,
        clean_spend.spend_month,
        clean_spend.spend_amount,
        coalesce(acquired.customers_acquired, 0) as customers_acquired
    from clean_spend
    left join acquired
        on clean_spend.acquisition_channel = acquired.acquisition_channel
        and clean_spend.spend_month = acquired.signup_month

),

final as (

    select
        acquisition_channel,
        spend_month,
        spend_amount,
        customers_acquired,
        customers_acquired > 0 as is_allocated,
        case
            when customers_acquired > 0 then {{ divide('spend_amount', 'customers_acquired') }}
        end as spend_per_customer,
        case when customers_acquired > 0 then spend_amount else 0 end as allocated_spend,
        case when customers_acquired > 0 then 0 else spend_amount end as unallocated_spend
    from joined

)

select * from final
