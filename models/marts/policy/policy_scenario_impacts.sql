-- The what-if per scenario and segment: for every scenario (the current policy included)
-- and every segment of customer_segment_memberships (each family partitions the customers,
-- so a family's rows add up to the scenario's total in policy_scenarios), how many
-- customers the proposed policy changes, and what it saves, puts at risk and nets, with the
-- low / central / high range of the assumptions (policy_scenario_customers). Segments a
-- scenario does not touch have zeros.
with

scenarios as (

    select * from {{ ref('int_policy_scenarios_defined') }}

),

-- only the columns used: this CTE is read twice, and an engine that materializes it (DuckDB)
-- would otherwise copy every membership's long reason text
memberships as (

    select
        customer_id,
        review_date,
        segment_family,
        segment
    from {{ ref('customer_segment_memberships') }}

),

scenario_customers as (

    select * from {{ ref('policy_scenario_customers') }}

),

scenario_names as (

    select distinct scenario from scenarios

),

segments as (

    select
        segment_family,
        segment,
        review_date,
        count(*) as customers
    from memberships
    group by
        segment_family,
        segment,
        review_date

),

segment_effects as (

    select
        scenario_customers.scenario,
        memberships.segment_family,
        memberships.segment,
        count(*) as affected_customers,
        sum(case when scenario_customers.is_service_level_changed then 1 else 0 end) as service_level_changes,
        sum(case when scenario_customers.service_level_steps < 0 then 1 else 0 end) as service_level_downgrades,
        sum(case when scenario_customers.service_level_steps > 0 then 1 else 0 end) as service_level_upgrades,
        sum(case when scenario_customers.is_routing_changed then 1 else 0 end) as routing_changes,
        sum(case when scenario_customers.is_entitlement_changed then 1 else 0 end) as entitlement_changes,
        sum(case when scenario_customers.account_manager_change = 'added' then 1 else 0 end) as account_managers_added,
        sum(case when scenario_customers.account_manager_change = 'removed' then 1 else 0 end)
            as account_managers_removed,
        {{ exact_sum('scenario_customers.contacts_moved_central') }}
            as contacts_moved_central,
        sum(scenario_customers.cost_to_serve_change_central) as cost_to_serve_change_central,
        sum(scenario_customers.savings_low) as savings_low,
        sum(scenario_customers.savings_central) as savings_central,
        sum(scenario_customers.savings_high) as savings_high,
        sum(scenario_customers.margin_at_risk_low) as margin_at_risk_low,
        sum(scenario_customers.margin_at_risk_central) as margin_at_risk_central,
        sum(scenario_customers.margin_at_risk_high) as margin_at_risk_high,
        sum(scenario_customers.net_effect_low) as net_effect_low,
        sum(scenario_customers.net_effect_central) as net_effect_central,
        sum(scenario_customers.net_effect_high) as net_effect_high
    from scenario_customers
    inner join memberships
        on scenario_customers.customer_id = memberships.customer_id
    group by
        scenario_customers.scenario,
        memberships.segment_family,
        memberships.segment

),

final as (

    select
        scenario_names.scenario,
        segments.review_date,
        segments.segment_family,
        segments.segment,
        {{ as_count('segments.customers') }} as customers,
        {{ as_count('coalesce(segment_effects.affected_customers, 0)') }} as affected_customers,
        {{ divide('coalesce(segment_effects.affected_customers, 0)', 'segments.customers') }} as affected_share,
        {{ as_count('coalesce(segment_effects.service_level_changes, 0)') }} as service_level_changes,
        {{ as_count('coalesce(segment_effects.service_level_downgrades, 0)') }} as service_level_downgrades,
        {{ as_count('coalesce(segment_effects.service_level_upgrades, 0)') }} as service_level_upgrades,
        {{ as_count('coalesce(segment_effects.routing_changes, 0)') }} as routing_changes,
        {{ as_count('coalesce(segment_effects.entitlement_changes, 0)') }} as entitlement_changes,
        {{ as_count('coalesce(segment_effects.account_managers_added, 0)') }} as account_managers_added,
        {{ as_count('coalesce(segment_effects.account_managers_removed, 0)') }} as account_managers_removed,
        {{ as_double('coalesce(segment_effects.contacts_moved_central, 0)') }} as contacts_moved_central,
        {{ as_money('coalesce(segment_effects.cost_to_serve_change_central, 0)') }} as cost_to_serve_change_central,
        {{ as_money('coalesce(segment_effects.savings_low, 0)') }} as savings_low,
        {{ as_money('coalesce(segment_effects.savings_central, 0)') }} as savings_central,
        {{ as_money('coalesce(segment_effects.savings_high, 0)') }} as savings_high,
        {{ as_money('coalesce(segment_effects.margin_at_risk_low, 0)') }} as margin_at_risk_low,
        {{ as_money('coalesce(segment_effects.margin_at_risk_central, 0)') }} as margin_at_risk_central,
        {{ as_money('coalesce(segment_effects.margin_at_risk_high, 0)') }} as margin_at_risk_high,
        {{ as_money('coalesce(segment_effects.net_effect_low, 0)') }} as net_effect_low,
        {{ as_money('coalesce(segment_effects.net_effect_central, 0)') }} as net_effect_central,
        {{ as_money('coalesce(segment_effects.net_effect_high, 0)') }} as net_effect_high
    from scenario_names
    cross join segments
    left join segment_effects
        on scenario_names.scenario = segment_effects.scenario
        and segments.segment_family = segment_effects.segment_family
        and segments.segment = segment_effects.segment

)

select * from final
