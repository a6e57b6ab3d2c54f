-- Every service policy the what-if compares, one row per scenario and policy row: the
-- current policy (seed service_policy, scenario 'current policy', the identity that must
-- change nothing), the shipped named scenarios (seed service_policy_scenarios) and any proposed in
-- the dbt var policy_scenarios (segmentation simulate --policy FILE; macros/policy.sql).
-- Each scenario is a whole policy in the shape of service_policy.
with

service_policy as (

    select * from {{ ref('service_policy') }}

),

seeded_scenarios as (

    select * from {{ ref('service_policy_scenarios') }}

),

proposed_scenarios as (

    {{ policy_scenarios_from_var() }}

),

current_policy as (

    select
        'current policy' as scenario,
        'seed service_policy' as scenario_source,
        segment_family,
        segment,
        service_level,
        entitlement_rank,
        sla_first_response_hours,
        allowed_channels,
        dedicated_account_manager,
        concierge,
        loyalty_benefits,
        cost_to_serve_budget_per_year,
        routing_queue,
        routing_precedence,
        routing_min_predicted_clv,
        policy_note
    from service_policy

),

seeded as (

    select
        scenario,
        'seed service_policy_scenarios' as scenario_source,
        segment_family,
        segment,
        service_level,
        entitlement_rank,
        sla_first_response_hours,
        allowed_channels,
        dedicated_account_manager,
        concierge,
        loyalty_benefits,
        cost_to_serve_budget_per_year,
        routing_queue,
        routing_precedence,
        routing_min_predicted_clv,
        policy_note
    from seeded_scenarios

),

proposed as (

    select
        scenario,
        'var policy_scenarios' as scenario_source,
        segment_family,
        segment,
        service_level,
        entitlement_rank,
        sla_first_response_hours,
        allowed_channels,
        dedicated_account_manager,
        concierge,
        loyalty_benefits,
        cost_to_serve_budget_per_year,
        routing_queue,
        routing_precedence,
        routing_min_predicted_clv,
        policy_note
    from proposed_scenarios

),

unioned as (

    select * from current_policy
    union all
    select * from seeded
    union all
    select * from proposed

),

final as (

    select
        cast(scenario as {{ dbt.type_string() }}) as scenario,
        cast(scenario_source as {{ dbt.type_string() }}) as scenario_source,
        segment_family,
        segment,
        service_level,
        entitlement_rank,
        cast(sla_first_response_hours as {{ type_double() }}) as sla_first_response_hours,
        allowed_channels,
        dedicated_account_manager,
        concierge,
        loyalty_benefits,
        cast(cost_to_serve_budget_per_year as {{ type_double() }}) as cost_to_serve_budget_per_year,
        routing_queue,
        routing_precedence,
        cast(routing_min_predicted_clv as {{ type_double() }}) as routing_min_predicted_clv,
        policy_note
    from unioned

)

select * from final
