-- Every low / central / high range of the what-if is ordered (low <= central <= high): the
-- assumptions of seed policy_assumptions, and the savings, margin at risk and net effect of
-- each customer, segment and scenario. Rows = failures.
{%- set measures = ['savings', 'margin_at_risk', 'net_effect'] %}
with

assumptions as (

    select * from {{ ref('policy_assumptions') }}

),

scenario_customers as (

    select * from {{ ref('policy_scenario_customers') }}

),

impacts as (

    select * from {{ ref('policy_scenario_impacts') }}

),

scenarios as (

    select * from {{ ref('policy_scenarios') }}

),

unordered_assumptions as (

    select
        'policy_assumptions' as failing_model,
        {{ dbt.concat(["assumption", "':'", "applies_to"]) }} as failing_key
    from assumptions
    where not (value_low <= value_central and value_central <= value_high)

),

{%- for model in ['scenario_customers', 'impacts', 'scenarios'] %}

unordered_{{ model }} as (

    select
        '{{ model }}' as failing_model,
        {%- if model == 'scenario_customers' %}
        {{ dbt.concat(["scenario", "':'", "customer_id"]) }} as failing_key
        {%- elif model == 'impacts' %}
        {{ dbt.concat(["scenario", "':'", "segment_family", "':'", "segment"]) }} as failing_key
        {%- else %}
        scenario as failing_key
        {%- endif %}
    from {{ model }}
    where
        false
        {%- for measure in measures %}
        or not ({{ measure }}_low <= {{ measure }}_central and {{ measure }}_central <= {{ measure }}_high)
        {%- endfor %}

),

{%- endfor %}

final as (

    select * from unordered_assumptions
    union all
    select * from unordered_scenario_customers
    union all
    select * from unordered_impacts
    union all
    select * from unordered_scenarios

)

select * from final
