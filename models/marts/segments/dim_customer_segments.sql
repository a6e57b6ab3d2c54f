-- One row per customer with activity, as of the review date, for BI: the value tier and
-- why, every needs segment, the service assignment, the look-alike score and the next
-- best action. No personal data (no names, no emails; account_manager_id is an employee
-- id, not customer data); the
-- contact key is a salted hash of the email (int_customer_contact_keys).
with

profiles as (

    select * from {{ ref('int_segment_customers_profiled') }}

),

value_tiers as (

    select * from {{ ref('int_segment_value_tiers_assigned') }}

),

needs as (

    select * from {{ ref('int_segment_needs_assigned') }}

),

lookalikes as (

    select * from {{ ref('int_segment_lookalikes_scored') }}

),

assignments as (

    select * from {{ ref('customer_service_assignment') }}

),

next_best_actions as (

    select * from {{ ref('customer_next_best_actions') }}

),

contact_keys as (

    select * from {{ ref('int_customer_contact_keys') }}

),

final as (

    select
        value_tiers.customer_id,
        contact_keys.contact_key,
        value_tiers.review_date,
        profiles.signup_date,
        profiles.tenure_months,
        profiles.tenure_band,
        value_tiers.value_tier,
        value_tiers.tier_rank,
        value_tiers.value_score,
        {{ as_count("value_tiers.value_rank") }} as value_rank,
        value_tiers.value_share,
        value_tiers.tier_reason,
        needs.lifecycle_stage,
        needs.churn_risk,
        needs.churn_risk_reason,
        profiles.p_alive,
        profiles.is_one_time_buyer,
        {{ as_count("profiles.days_since_last_purchase") }} as days_since_last_purchase,
        needs.support_channel,
        needs.support_intensity,
        needs.support_intensity_score as support_cost_ratio,
        needs.product_adoption,
        profiles.categories_bought,
        needs.firmographic_group,
        profiles.industry,
        profiles.company_size_band,
        profiles.region,
        needs.service_plan,
        profiles.has_account_manager,
        profiles.account_manager_id,
        {{ as_money('profiles.historical_clv') }} as historical_clv,
        {{ as_money('profiles.predicted_clv') }} as predicted_clv,
        {{ var('segment_clv_horizon_months', 36) | int }} as clv_horizon_months,
        {{ as_money('profiles.rolling_net_revenue') }} as rolling_net_revenue,
        {{ as_money('profiles.rolling_gross_margin') }} as rolling_gross_margin,
        {{ as_money('profiles.rolling_cost_to_serve') }} as rolling_cost_to_serve,
        {{ as_money('profiles.rolling_net_profit') }} as rolling_net_profit,
        {{ as_double("profiles.rolling_mean_csat") }} as rolling_mean_csat,
        assignments.effective_service_level,
        assignments.routing_queue,
        assignments.sla_first_response_hours,
        assignments.dedicated_account_manager,
        assignments.concierge,
        assignments.cost_to_serve_budget_per_year,
        assignments.reason_codes as assignment_reason_codes,
        lookalikes.lookalike_score,
        {{ as_count("lookalikes.lookalike_rank") }} as lookalike_rank,
        next_best_actions.next_best_action,
        next_best_actions.recommended_category,
        next_best_actions.next_best_action_reason
    from value_tiers
    inner join profiles
        on value_tiers.customer_id = profiles.customer_id
    inner join needs
        on value_tiers.customer_id = needs.customer_id
    inner join assignments
        on value_tiers.customer_id = assignments.customer_id
    inner join next_best_actions
        on value_tiers.customer_id = next_best_actions.customer_id
    left join lookalikes
        on value_tiers.customer_id = lookalikes.customer_id
    left join contact_keys
        on value_tiers.customer_id = contact_keys.customer_id

)

select * from final
