-- Seed service_policy must give every value tier a service level with an entitlement
-- rank, and every routing row a precedence, so every customer gets a service level and
-- conflicts resolve deterministically. Rows = problems.
with

rules as (

    select * from {{ ref('value_tier_rules') }}

),

policy as (

    select * from {{ ref('service_policy') }}

),

tier_policies as (

    select * from policy
    where segment_family = 'value_tier'

),

missing_tiers as (

    select
        'value_tier_without_service_level' as problem,
        rules.value_tier as detail
    from rules
    left join tier_policies
        on rules.value_tier = tier_policies.segment
    where
        tier_policies.service_level is null
        or tier_policies.entitlement_rank is null

),

incomplete_rows as (

    select
        'incomplete_policy_row' as problem,
        {{ dbt.concat(["segment_family", "':'", "segment"]) }} as detail
    from policy
    where
        (service_level is not null and (entitlement_rank is null or cost_to_serve_budget_per_year is null))
        or (routing_queue is not null and routing_precedence is null)
        or (service_level is null and routing_queue is null)

),

duplicate_rows as (

    select
        'duplicate_policy_row' as problem,
        {{ dbt.concat(["segment_family", "':'", "segment"]) }} as detail
    from policy
    group by
        segment_family,
        segment
    having count(*) > 1

),

final as (

    select * from missing_tiers
    union all
    select * from incomplete_rows
    union all
    select * from duplicate_rows

)

select * from final
