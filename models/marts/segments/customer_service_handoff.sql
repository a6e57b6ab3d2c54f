-- The operational hand-off of the review, one row per customer and review: what a
-- contact-center or CRM system imports to act on the segmentation. Who the customer is
-- (id and salted contact key, no personal data), their value tier and churn risk, the
-- queue their contacts go to with the first-response SLA of their service level, the
-- account manager the policy entitles them to next to the one they actually have (an
-- employee id), and their predicted CLV with its horizon and currency.
-- Published with the marts and exported as CSV and Parquet with every publish.
{%- set valuable_max_rank = sql_literal(var('segment_valuable_max_tier_rank', 2),
    'number', 'segment_valuable_max_tier_rank') %}

with

review as (

    select * from {{ ref('int_review_identified') }}

),

customer_segments as (

    select * from {{ ref('dim_customer_segments') }}

),

assignments as (

    select * from {{ ref('customer_service_assignment') }}

),

account_managers_compared as (

    select
        customer_id,
        case
            when dedicated_account_manager and has_account_manager then 'entitled_and_assigned'
            when dedicated_account_manager then 'entitled_not_assigned'
            when has_account_manager then 'assigned_not_entitled'
            else 'not_entitled'
        end as account_manager_status
    from assignments

),

final as (

    select
        review.review_id,
        review.review_type,
        customer_segments.review_date,
        customer_segments.customer_id,
        customer_segments.contact_key,
        customer_segments.value_tier,
        customer_segments.tier_rank as value_tier_rank,
        customer_segments.tier_rank <= {{ valuable_max_rank }} as is_valuable,
        customer_segments.churn_risk,
        customer_segments.lifecycle_stage,
        customer_segments.effective_service_level,
        customer_segments.routing_queue,
        assignments.routing_source,
        customer_segments.sla_first_response_hours,
        assignments.allowed_channels,
        customer_segments.concierge,
        customer_segments.dedicated_account_manager as is_entitled_to_account_manager,
        customer_segments.account_manager_id,
        account_managers_compared.account_manager_status,
        customer_segments.predicted_clv,
        customer_segments.clv_horizon_months,
        customer_segments.p_alive,
        customer_segments.rolling_net_profit,
        {{ sql_literal(var('reporting_currency', 'USD'), 'currency', 'reporting_currency') }} as currency,
        customer_segments.next_best_action,
        customer_segments.next_best_action_reason
    from customer_segments
    inner join review
        on customer_segments.review_date = review.review_date
    inner join assignments
        on customer_segments.customer_id = assignments.customer_id
    inner join account_managers_compared
        on customer_segments.customer_id = account_managers_compared.customer_id

)

select * from final
