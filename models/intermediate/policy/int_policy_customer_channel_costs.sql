-- Support cost per customer and channel in the rolling window ending on the review date,
-- from the activity-based cost model (int_cost_to_serve_activities_costed: handle minutes
-- at the channel's rate plus escalations), with the mean cost of a self-service ticket: what
-- a contact costs where it is and what it would cost in self-service. One row per customer
-- and support channel with a costed ticket in the window.
with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

activities as (

    select * from {{ ref('int_cost_to_serve_activities_costed') }}

),

support_activities as (

    select
        activities.customer_id,
        activities.support_channel,
        activities.activity_id as ticket_id,
        activities.cost
    from activities
    cross join review_parameters
    where activities.activity in ('support_minutes', 'escalation')
        and activities.activity_date >= review_parameters.rolling_window_start
        and activities.activity_date <= review_parameters.review_date

),

customer_channels as (

    select
        customer_id,
        support_channel,
        count(distinct ticket_id) as rolling_tickets,
        -- a decimal sum: the same to the bit on every build (macros/portable/numbers.sql)
        {{ exact_sum('cost') }} as rolling_support_cost
    from support_activities
    group by
        customer_id,
        support_channel

),

self_service_unit_cost as (

    select
        coalesce({{ divide('sum(rolling_support_cost)', 'nullif(sum(rolling_tickets), 0)') }}, 0)
            as self_service_cost_per_ticket
    from customer_channels
    where support_channel = 'self_service'

),

final as (

    select
        customer_channels.customer_id,
        customer_channels.support_channel,
        customer_channels.rolling_tickets,
        customer_channels.rolling_support_cost,
        self_service_unit_cost.self_service_cost_per_ticket
    from customer_channels
    cross join self_service_unit_cost

)

select * from final
