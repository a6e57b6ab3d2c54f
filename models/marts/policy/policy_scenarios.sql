-- One row per service-policy scenario (the current policy, the shipped seed
-- policy_scenarios and any given as var policy_scenarios) on the current review: how many
-- customers it changes, what it saves in cost to serve, the margin it puts at risk and the
-- net effect, each with the low / central / high range of seed policy_assumptions
-- (totals of policy_scenario_customers). Next to the assumed retention change per service
-- level step down, the churn the review history shows after past service level drops:
--   customers in three consecutive reviews A, B, C of one review type (segment_reviews),
--   not lapsed at B; churned = lifecycle_stage lapsed at C; compared between customers
--   whose service level fell from A to B and those whose level did not change. Evidence,
--   not proof: levels fall because customers buy less, so the comparison overstates the
--   effect of service; null until three reviews exist.
{%- set observational_note = 'observational, not a controlled experiment: service levels fall because'
    ~ ' customers buy less, so the observed churn overstates the effect of service' %}
with

scenarios as (

    select * from {{ ref('int_policy_scenarios_defined') }}

),

scenario_customers as (

    select * from {{ ref('policy_scenario_customers') }}

),

assignments as (

    select * from {{ ref('customer_service_assignment') }}

),

assumptions as (

    select * from {{ ref('policy_assumptions') }}

),

service_levels as (

    select * from {{ ref('service_levels') }}

),

history as (

    select * from {{ ref('segment_review_history') }}

),

reviews as (

    select * from {{ ref('segment_reviews') }}

),

scenario_definitions as (

    select
        scenario,
        min(scenario_source) as scenario_source,
        count(*) as policy_rows
    from scenarios
    group by scenario

),

review_customers as (

    select
        customer_id,
        review_date
    from assignments

),

current_review as (

    select
        max(review_date) as review_date,
        count(*) as customers
    from review_customers

),

scenario_totals as (

    select
        scenario,
        count(*) as affected_customers,
        sum(case when service_level_steps < 0 then 1 else 0 end) as service_level_downgrades,
        sum(case when service_level_steps > 0 then 1 else 0 end) as service_level_upgrades,
        sum(case when is_routing_changed then 1 else 0 end) as routing_changes,
        sum(case when scenario_routing_queue = 'self_service' and is_routing_changed then 1 else 0 end)
            as routed_to_self_service,
        sum(case when account_manager_change = 'added' then 1 else 0 end) as account_managers_added,
        sum(case when account_manager_change = 'removed' then 1 else 0 end) as account_managers_removed,
        {{ exact_sum('contacts_moved_central') }} as contacts_moved_central,
        sum(cost_to_serve_change_central) as cost_to_serve_change_central,
        sum(savings_low) as savings_low,
        sum(savings_central) as savings_central,
        sum(savings_high) as savings_high,
        sum(margin_at_risk_low) as margin_at_risk_low,
        sum(margin_at_risk_central) as margin_at_risk_central,
        sum(margin_at_risk_high) as margin_at_risk_high,
        sum(net_effect_low) as net_effect_low,
        sum(net_effect_central) as net_effect_central,
        sum(net_effect_high) as net_effect_high
    from scenario_customers
    group by scenario

),

assumed_level_down as (

    select
        max(value_low) as retention_change_low,
        max(value_central) as retention_change_central,
        max(value_high) as retention_change_high
    from assumptions
    where assumption = 'retention_change_per_level_step'
        and applies_to = 'down'

),

-- review C with its previous review B and B's previous A (same review type)
review_triples as (

    select
        later.review_id as review_c,
        later.previous_review_id as review_b,
        middle.previous_review_id as review_a
    from reviews as later
    inner join reviews as middle
        on later.previous_review_id = middle.review_id
    where middle.previous_review_id is not null

),

observed_customers as (

    select
        coalesce(level_b.level_order, 0) - coalesce(level_a.level_order, 0) as service_level_steps,
        case when history_c.lifecycle_stage = 'lapsed' then 1 else 0 end as is_churned
    from review_triples
    inner join history as history_a
        on review_triples.review_a = history_a.review_id
    inner join history as history_b
        on review_triples.review_b = history_b.review_id
        and history_a.customer_id = history_b.customer_id
    inner join history as history_c
        on review_triples.review_c = history_c.review_id
        and history_a.customer_id = history_c.customer_id
    left join service_levels as level_a
        on history_a.effective_service_level = level_a.service_level
    left join service_levels as level_b
        on history_b.effective_service_level = level_b.service_level
    where history_b.lifecycle_stage <> 'lapsed'

),

observed_churn as (

    select
        sum(case when service_level_steps < 0 then 1 else 0 end) as customers_level_down,
        avg(case when service_level_steps < 0 then {{ as_double('is_churned') }} end) as churn_rate_level_down,
        avg(case when service_level_steps < 0 then {{ as_double('-service_level_steps') }} end) as steps_level_down,
        sum(case when service_level_steps = 0 then 1 else 0 end) as customers_level_unchanged,
        avg(case when service_level_steps = 0 then {{ as_double('is_churned') }} end) as churn_rate_level_unchanged
    from observed_customers

),

final as (

    select
        scenario_definitions.scenario,
        scenario_definitions.scenario_source,
        current_review.review_date,
        {{ as_count('scenario_definitions.policy_rows') }} as policy_rows,
        {{ as_count('current_review.customers') }} as customers,
        {{ as_count('coalesce(scenario_totals.affected_customers, 0)') }} as affected_customers,
        {{ divide('coalesce(scenario_totals.affected_customers, 0)', 'nullif(current_review.customers, 0)') }}
            as affected_share,
        {{ as_count('coalesce(scenario_totals.service_level_downgrades, 0)') }} as service_level_downgrades,
        {{ as_count('coalesce(scenario_totals.service_level_upgrades, 0)') }} as service_level_upgrades,
        {{ as_count('coalesce(scenario_totals.routing_changes, 0)') }} as routing_changes,
        {{ as_count('coalesce(scenario_totals.routed_to_self_service, 0)') }} as routed_to_self_service,
        {{ as_count('coalesce(scenario_totals.account_managers_added, 0)') }} as account_managers_added,
        {{ as_count('coalesce(scenario_totals.account_managers_removed, 0)') }} as account_managers_removed,
        {{ as_double('coalesce(scenario_totals.contacts_moved_central, 0)') }} as contacts_moved_central,
        {{ as_money('coalesce(scenario_totals.cost_to_serve_change_central, 0)') }} as cost_to_serve_change_central,
        {{ as_money('coalesce(scenario_totals.savings_low, 0)') }} as savings_low,
        {{ as_money('coalesce(scenario_totals.savings_central, 0)') }} as savings_central,
        {{ as_money('coalesce(scenario_totals.savings_high, 0)') }} as savings_high,
        {{ as_money('coalesce(scenario_totals.margin_at_risk_low, 0)') }} as margin_at_risk_low,
        {{ as_money('coalesce(scenario_totals.margin_at_risk_central, 0)') }} as margin_at_risk_central,
        {{ as_money('coalesce(scenario_totals.margin_at_risk_high, 0)') }} as margin_at_risk_high,
        {{ as_money('coalesce(scenario_totals.net_effect_low, 0)') }} as net_effect_low,
        {{ as_money('coalesce(scenario_totals.net_effect_central, 0)') }} as net_effect_central,
        {{ as_money('coalesce(scenario_totals.net_effect_high, 0)') }} as net_effect_high,
        {{ as_double('assumed_level_down.retention_change_low') }} as assumed_retention_change_per_level_down_low,
        {{ as_double('assumed_level_down.retention_change_central') }}
            as assumed_retention_change_per_level_down_central,
        {{ as_double('assumed_level_down.retention_change_high') }} as assumed_retention_change_per_level_down_high,
        {{ as_count('coalesce(observed_churn.customers_level_down, 0)') }} as observed_customers_level_down,
        {{ as_double('observed_churn.churn_rate_level_down') }} as observed_churn_rate_level_down,
        {{ as_count('coalesce(observed_churn.customers_level_unchanged, 0)') }} as observed_customers_level_unchanged,
        {{ as_double('observed_churn.churn_rate_level_unchanged') }} as observed_churn_rate_level_unchanged,
        {{ as_double(divide('observed_churn.churn_rate_level_unchanged - observed_churn.churn_rate_level_down',
                            'nullif(observed_churn.steps_level_down, 0)')) }} as observed_retention_change_per_level_down,
        case
            when observed_churn.churn_rate_level_down is null or observed_churn.churn_rate_level_unchanged is null
                then 'no evidence yet: needs three reviews of one type with service level drops between the first two'
            else '{{ observational_note }}'
        end as evidence_note
    from scenario_definitions
    cross join current_review
    cross join assumed_level_down
    cross join observed_churn
    left join scenario_totals
        on scenario_definitions.scenario = scenario_totals.scenario

)

select * from final
