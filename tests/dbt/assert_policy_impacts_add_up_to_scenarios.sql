-- Each segment family partitions the customers, so a scenario's impacts of one family add up
-- to the scenario's totals in policy_scenarios (customers, affected customers, savings and
-- margin at risk at every bound). Rows = failures.
{%- set summed = ['customers', 'affected_customers', 'savings_low', 'savings_central', 'savings_high',
                  'margin_at_risk_low', 'margin_at_risk_central', 'margin_at_risk_high'] %}
with

impacts as (

    select * from {{ ref('policy_scenario_impacts') }}

),

scenarios as (

    select * from {{ ref('policy_scenarios') }}

),

family_totals as (

    select
        scenario,
        segment_family,
        {%- for column in summed %}
        sum({{ column }}) as {{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from impacts
    group by
        scenario,
        segment_family

),

final as (

    select
        family_totals.scenario,
        family_totals.segment_family
    from family_totals
    left join scenarios
        on family_totals.scenario = scenarios.scenario
    where
        scenarios.scenario is null
        {%- for column in summed %}
        or {{ amounts_differ('family_totals.' ~ column, 'scenarios.' ~ column) }}
        {%- endfor %}

)

select * from final
