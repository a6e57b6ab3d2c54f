-- The identity scenario: the current policy (seed service_policy) applied by the what-if
-- must reproduce today's assignment exactly, so it changes no customer and has zero
-- savings, margin at risk and net effect everywhere; and it must be there. Rows = failures.
with

scenario_customers as (

    select * from {{ ref('policy_scenario_customers') }}

),

impacts as (

    select * from {{ ref('policy_scenario_impacts') }}

),

scenarios as (

    select * from {{ ref('policy_scenarios') }}

),

changed_customers as (

    select
        'policy_scenario_customers' as failing_model,
        customer_id as failing_key
    from scenario_customers
    where scenario = 'current policy'

),

changed_segments as (

    select
        'policy_scenario_impacts' as failing_model,
        {{ dbt.concat(["segment_family", "':'", "segment"]) }} as failing_key
    from impacts
    where scenario = 'current policy'
        and (
            affected_customers <> 0 or contacts_moved_central <> 0
            or savings_low <> 0 or savings_central <> 0 or savings_high <> 0
            or margin_at_risk_low <> 0 or margin_at_risk_central <> 0 or margin_at_risk_high <> 0
            or net_effect_low <> 0 or net_effect_central <> 0 or net_effect_high <> 0
        )

),

changed_total as (

    select
        'policy_scenarios' as failing_model,
        scenario as failing_key
    from scenarios
    where scenario = 'current policy'
        and (
            affected_customers <> 0 or cost_to_serve_change_central <> 0
            or savings_low <> 0 or savings_high <> 0
            or margin_at_risk_low <> 0 or margin_at_risk_high <> 0
            or net_effect_low <> 0 or net_effect_high <> 0
        )

),

missing_identity as (

    select
        'policy_scenarios' as failing_model,
        'current policy missing' as failing_key
    from (
        select count(*) as identity_rows
        from scenarios
        where scenario = 'current policy'
    ) as counted
    where identity_rows <> 1

),

final as (

    select * from changed_customers
    union all
    select * from changed_segments
    union all
    select * from changed_total
    union all
    select * from missing_identity

)

select * from final
