-- Seed value_tier_rules must be usable: exactly one catch-all rule (no share and no score
-- condition), and it has the highest tier_rank; share limits grow with tier_rank.
-- Rows = problems.
with

rules as (

    select * from {{ ref('value_tier_rules') }}

),

catch_alls as (

    select
        value_tier,
        tier_rank
    from rules
    where
        max_cumulative_share is null
        and min_value_score is null

),

catch_all_problems as (

    select
        'catch_all_count' as problem,
        cast(count(*) as {{ dbt.type_string() }}) as detail
    from catch_alls
    having count(*) <> 1

),

catch_all_not_last as (

    select
        'catch_all_not_last' as problem,
        catch_alls.value_tier as detail
    from catch_alls
    where catch_alls.tier_rank < (select max(rules.tier_rank) from rules)

),

shares_ordered as (

    select
        value_tier,
        max_cumulative_share,
        lag(max_cumulative_share) over (order by tier_rank) as previous_share
    from rules
    where max_cumulative_share is not null

),

share_problems as (

    select
        'share_limit_not_increasing' as problem,
        value_tier as detail
    from shares_ordered
    where
        max_cumulative_share < previous_share
        or max_cumulative_share > 1
        or max_cumulative_share <= 0

),

final as (

    select * from catch_all_problems
    union all
    select * from catch_all_not_last
    union all
    select * from share_problems

)

select * from final
