-- Every segment membership of every customer with activity, as of the review date, one
-- row per customer and segment family: the value tier (family value_tier, exactly one)
-- and the needs and behaviour segments (one per family: lifecycle_stage, churn_risk,
-- support_channel, support_intensity, product_adoption, firmographic_group,
-- service_plan). A customer is in several segments at once, one of each family
-- (firmographic_group only when the data has firmographics: not for consumer data).
{%- set score_type = dbt.type_numeric() %}
{%- set needs_families = [
    'lifecycle_stage', 'churn_risk', 'support_channel', 'support_intensity',
    'product_adoption', 'firmographic_group', 'service_plan',
] %}

with

value_tiers as (

    select * from {{ ref('int_segment_value_tiers_assigned') }}

),

needs as (

    select * from {{ ref('int_segment_needs_assigned') }}

),

value_tier_memberships as (

    select
        customer_id,
        review_date,
        'value_tier' as segment_family,
        value_tier as segment,
        cast(value_score as {{ score_type }}) as score,
        tier_reason as reason
    from value_tiers

),

{% for family in needs_families %}
{{ family }}_memberships as (

    select
        customer_id,
        review_date,
        '{{ family }}' as segment_family,
        {{ family }} as segment,
        {%- if family in ['firmographic_group', 'service_plan'] %}
        cast(null as {{ score_type }}) as score,
        {%- else %}
        cast({{ family }}_score as {{ score_type }}) as score,
        {%- endif %}
        {{ family }}_reason as reason
    from needs
    {%- if family == 'firmographic_group' %}
    -- Omitted, not 'unknown', when the data has no firmographics (consumer data).
    where firmographic_group is not null
    {%- endif %}

),

{% endfor %}
final as (

    select * from value_tier_memberships
    {%- for family in needs_families %}
    union all
    select * from {{ family }}_memberships
    {%- endfor %}

)

select * from final
