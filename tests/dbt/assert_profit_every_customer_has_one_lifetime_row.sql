-- Every clean customer signed up by the review date appears exactly once in
-- customer_lifetime_profitability, and in customer_profitability for every period ending
-- on or after the signup date.
with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

customers as (

    select * from {{ ref('int_customers_validated') }}

),

lifetime as (

    select * from {{ ref('customer_lifetime_profitability') }}

),

customer_profitability as (

    select * from {{ ref('customer_profitability') }}

),

periods as (

    select * from {{ ref('int_reporting_periods_defined') }}

),

known_customers as (

    select
        customers.customer_id,
        customers.signup_date
    from customers
    cross join review_parameters
    where not customers.is_quarantined
        and customers.signup_date <= review_parameters.review_date

),

lifetime_rows as (

    select
        customer_id,
        count(*) as lifetime_rows
    from lifetime
    group by customer_id

),

lifetime_problems as (

    select
        known_customers.customer_id,
        'lifetime' as period_label,
        coalesce(lifetime_rows.lifetime_rows, 0) as found_rows
    from known_customers
    left join lifetime_rows
        on known_customers.customer_id = lifetime_rows.customer_id
    where coalesce(lifetime_rows.lifetime_rows, 0) <> 1

),

expected_periods as (

    select
        known_customers.customer_id,
        periods.period_type,
        periods.period_label
    from known_customers
    inner join periods
        on known_customers.signup_date <= periods.period_end
    where periods.period_type <> 'lifetime'

),

period_problems as (

    select
        expected_periods.customer_id,
        expected_periods.period_label,
        0 as found_rows
    from expected_periods
    left join customer_profitability
        on expected_periods.customer_id = customer_profitability.customer_id
        and expected_periods.period_type = customer_profitability.period_type
        and expected_periods.period_label = customer_profitability.period_label
    where customer_profitability.customer_id is null

),

final as (

    select * from lifetime_problems
    union all
    select * from period_problems

)

select * from final
