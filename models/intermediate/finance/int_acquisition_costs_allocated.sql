-- Acquisition cost per clean customer signed up by the review date, booked on the signup
-- date (the customer's first period): the customer's given acquisition cost when the source
-- has one, else the channel's spend in the signup month divided by the clean customers
-- acquired through that channel in that month. A channel-month without spend costs 0.
with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

customers as (

    select * from {{ ref('int_customers_validated') }}

),

spend_allocations as (

    select * from {{ ref('int_acquisition_spend_allocated') }}

),

known_customers as (

    select
        customers.customer_id,
        customers.signup_date,
        customers.acquisition_channel,
        cast({{ dbt.date_trunc('month', 'customers.signup_date') }} as date) as signup_month,
        customers.given_acquisition_cost
    from customers
    cross join review_parameters
    where not customers.is_quarantined
        and customers.signup_date <= review_parameters.review_date

),

joined as (

    select
        known_customers.customer_id,
        known_customers.signup_date,
        known_customers.acquisition_channel,
        known_customers.signup_month,
        known_customers.given_acquisition_cost,
        spend_allocations.spend_per_customer as channel_spend_share
    from known_customers
    left join spend_allocations
        on known_customers.acquisition_channel = spend_allocations.acquisition_channel
        and known_customers.signup_month = spend_allocations.spend_month

),

final as (

    select
        customer_id,
        signup_date as acquisition_date,
        acquisition_channel,
        signup_month,
        given_acquisition_cost,
        channel_spend_share,
        coalesce(given_acquisition_cost, channel_spend_share, 0) as acquisition_cost,
        case
            when given_acquisition_cost is not null then 'given'
            when channel_spend_share is not null then 'channel_spend'
            else 'no_channel_spend'
        end as acquisition_cost_source
    from joined

)

select * from final
