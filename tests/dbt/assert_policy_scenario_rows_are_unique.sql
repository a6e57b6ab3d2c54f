-- Each scenario is one policy: one row per scenario, segment family and segment (a scenario
-- name given twice, e.g. a file named like a seed scenario or 'current policy', would merge
-- two policies). Also the keys of the what-if marts. Rows = failures.
with

scenario_rows as (

    select * from {{ ref('int_policy_scenarios_defined') }}

),

scenario_customers as (

    select * from {{ ref('policy_scenario_customers') }}

),

impacts as (

    select * from {{ ref('policy_scenario_impacts') }}

),

repeated_policy_rows as (

    select
        'int_policy_scenarios_defined' as failing_model,
        {{ dbt.concat(["scenario", "':'", "segment_family", "':'", "segment"]) }} as failing_key
    from scenario_rows
    group by scenario, segment_family, segment
    having count(*) > 1

),

scenarios_from_two_sources as (

    select
        'int_policy_scenarios_defined' as failing_model,
        scenario as failing_key
    from scenario_rows
    group by scenario
    having count(distinct scenario_source) > 1

),

repeated_customers as (

    select
        'policy_scenario_customers' as failing_model,
        {{ dbt.concat(["scenario", "':'", "customer_id"]) }} as failing_key
    from scenario_customers
    group by scenario, customer_id
    having count(*) > 1

),

repeated_segments as (

    select
        'policy_scenario_impacts' as failing_model,
        {{ dbt.concat(["scenario", "':'", "segment_family", "':'", "segment"]) }} as failing_key
    from impacts
    group by scenario, segment_family, segment
    having count(*) > 1

),

final as (

    select * from repeated_policy_rows
    union all
    select * from scenarios_from_two_sources
    union all
    select * from repeated_customers
    union all
    select * from repeated_segments

)

select * from final
