-- Activity-based cost to serve: one row per costed activity of a clean customer, dated on
-- or before the review date, priced at the rate valid on the activity date
-- (valid_from <= activity_date < coalesce(valid_to, far future); clean rates never overlap).
--   support_minutes     handle minutes of a ticket (> 0) x support_minute rate of its channel
--   escalation          1 per escalated ticket x escalation rate (on the ticket's opened_date)
--   return              1 per returned order x return rate (on ordered_date)
--   expedited_order     1 per completed or returned expedited order (cancelled orders do not
--                       ship) x expedited_order rate
--   account_management  the customer's share of a manager-month, in manager-years, x the
--                       account_manager_year rate (from int_account_manager_costs_allocated)
-- An activity without a matching rate is kept with cost 0 and has_rate = false; the test
-- assert_cost_every_activity_has_a_rate fails the build when any exist.
-- Incremental by customer (incremental_by_key, macros/incremental.sql): a run recomputes the
-- customers whose activities may have changed since loaded_through
-- (finance_customers_touched_since_watermark: touched by loads, sharing an account manager
-- with a customer loaded since, or every customer after new cost rates or when the review
-- date moved back or more than 31 days forward; then the pre-hook empties the table first);
-- a customer left without activities is deleted by the post-hook. When the review date moved
-- forward by a few days (a daily refresh), only the customers with a ticket, order or
-- account-manager month in the days that entered the history are recomputed
-- (cost_customers_in_moved_days); the post-hook gives every other row the new review date.
{%- set by_customer = incremental_by_key('customer_id') %}
{{ config(
    pre_hook=("{{ finance_empty_when_everything_changed(review_date_moved_far()) }}" if by_customer.materialized == 'incremental' else ''),
    post_hook=(["delete from {{ this }} where activity is null", "{{ cost_rows_moved_to_review_date() }}"] if by_customer.materialized == 'incremental' else []),
    **by_customer
) }}
-- depends_on: {{ ref('int_customers_touched_by_loads') }}, {{ ref('int_customers_validated') }}
-- depends_on: {{ ref('int_cost_rates_validated') }}, {{ ref('int_acquisition_spend_validated') }}

with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

support_tickets as (

    select * from {{ ref('int_support_tickets_validated') }}

),

orders as (

    select * from {{ ref('int_orders_validated') }}

),

cost_rates as (

    select * from {{ ref('int_cost_rates_validated') }}

),

account_manager_allocations as (

    select * from {{ ref('int_account_manager_costs_allocated') }}

),

{% if is_incremental() %}
touched_customers as (

    {{ finance_customers_touched_since_watermark(review_date_moved_far()) }}
    union
    {{ cost_customers_in_moved_days() }}

),
{% endif %}

clean_tickets as (

    select
        support_tickets.ticket_id,
        support_tickets.customer_id,
        support_tickets.opened_date,
        support_tickets.support_channel,
        support_tickets.handle_minutes,
        support_tickets.is_escalated
    from support_tickets
    cross join review_parameters
    where not support_tickets.is_quarantined
        and support_tickets.opened_date <= review_parameters.review_date
    {%- if is_incremental() %}
        and support_tickets.customer_id in (select touched_customers.customer_id from touched_customers)
    {%- endif %}

),

clean_orders as (

    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_date,
        orders.order_status,
        orders.is_expedited
    from orders
    cross join review_parameters
    where not orders.is_quarantined
        and orders.ordered_date <= review_parameters.review_date
    {%- if is_incremental() %}
        and orders.customer_id in (select touched_customers.customer_id from touched_customers)
    {%- endif %}

),

clean_rates as (

    select
        activity,
        support_channel,
        valid_from,
        valid_to,
        rate
    from cost_rates
    where not is_quarantined

),

support_minutes as (

    select
        customer_id,
        opened_date as activity_date,
        'support_minutes' as activity,
        ticket_id as activity_id,
        support_channel,
        handle_minutes as quantity,
        'support_minute' as rate_activity
    from clean_tickets
    where handle_minutes > 0

),

escalations as (

    select
        customer_id,
        opened_date as activity_date,
        'escalation' as activity,
        ticket_id as activity_id,
        support_channel,
        1 as quantity,
        'escalation' as rate_activity
    from clean_tickets
    where is_escalated

),

returned_orders as (

    select
        customer_id,
        ordered_date as activity_date,
        'return' as activity,
        order_id as activity_id,
        cast(null as {{ dbt.type_string() }}) as support_channel,
        1 as quantity,
        'return' as rate_activity
    from clean_orders
    where order_status = 'returned'

),

expedited_orders as (

    select
        customer_id,
        ordered_date as activity_date,
        'expedited_order' as activity,
        order_id as activity_id,
        cast(null as {{ dbt.type_string() }}) as support_channel,
        1 as quantity,
        'expedited_order' as rate_activity
    from clean_orders
    where is_expedited
        and order_status in ('completed', 'returned')

),

rate_based_activities as (

    select * from support_minutes
    union all
    select * from escalations
    union all
    select * from returned_orders
    union all
    select * from expedited_orders

),

rated as (

    select
        rate_based_activities.customer_id,
        rate_based_activities.activity_date,
        rate_based_activities.activity,
        rate_based_activities.activity_id,
        rate_based_activities.support_channel,
        cast(null as {{ dbt.type_string() }}) as account_manager_id,
        rate_based_activities.quantity,
        clean_rates.rate,
        coalesce(rate_based_activities.quantity * clean_rates.rate, 0) as cost,
        clean_rates.rate is not null as has_rate
    from rate_based_activities
    left join clean_rates
        on rate_based_activities.rate_activity = clean_rates.activity
        and (
            rate_based_activities.rate_activity <> 'support_minute'
            or rate_based_activities.support_channel = clean_rates.support_channel
        )
        and clean_rates.valid_from <= rate_based_activities.activity_date
        and (clean_rates.valid_to is null or rate_based_activities.activity_date < clean_rates.valid_to)

),

account_management as (

    select
        customer_id,
        month_end as activity_date,
        'account_management' as activity,
        {{ dbt.concat([
            "account_manager_id", "'|'", dbt.safe_cast("month_start", api.Column.translate_type("string"))
        ]) }} as activity_id,
        cast(null as {{ dbt.type_string() }}) as support_channel,
        account_manager_id,
        manager_years as quantity,
        annual_rate as rate,
        allocated_cost as cost,
        has_rate
    from account_manager_allocations
    {%- if is_incremental() %}
    where customer_id in (select touched_customers.customer_id from touched_customers)
    {%- endif %}

),

activities as (

    select * from rated
    union all
    select * from account_management

),

{% if is_incremental() %}
-- One row per touched customer without activities left: it makes delete+insert remove the
-- customer's old rows; the post-hook deletes it. Selected inside the union, so that its bare
-- nulls take the other branch's types (PostgreSQL types a CTE's bare null as text).
activities_and_emptied as (

    select * from activities
    union all
    select
        customer_id,
        cast(null as date) as activity_date,
        cast(null as {{ dbt.type_string() }}) as activity,
        cast(null as {{ dbt.type_string() }}) as activity_id,
        cast(null as {{ dbt.type_string() }}) as support_channel,
        cast(null as {{ dbt.type_string() }}) as account_manager_id,
        null as quantity,
        null as rate,
        0 as cost,
        false as has_rate
    from touched_customers
    where customer_id not in (select activities.customer_id from activities)

),
{% else %}
activities_and_emptied as (

    select * from activities

),
{% endif %}

final as (

    select
        activities_and_emptied.*,
        review_parameters.review_date,
        {{ customer_touches_watermark() }} as loaded_through
    from activities_and_emptied
    cross join review_parameters

)

select * from final
