-- One next best action per customer with activity, as of the review date, with its
-- reason. The first rule that applies wins:
--   1 retention_call        the customer is routed to retention (at risk and worth keeping)
--   2 onboarding_check_in   lifecycle_stage onboarding
--   3 win_back_offer        lifecycle_stage lapsed, value tier not above the look-alike
--                           tiers' rank limit (var segment_lookalike_max_tier_rank)
--   4 move_to_self_service  the preferred support channel is not among the channels the
--                           customer's service level allows (seed service_policy)
--   5 offer_premium_plan    a mid-tier look-alike in the top var
--                           segment_premium_offer_top_share of its tenure band, without a
--                           premium or enterprise plan
--   6 upsell_category       a category the customer has not bought, the one most bought by
--                           top-tier customers (value tier rank <= var
--                           segment_valuable_max_tier_rank); not for unprofitable customers
--   7 keep_current_service  nothing above applies
{%- set valuable_max_rank = sql_literal(var('segment_valuable_max_tier_rank', 2),
    'number', 'segment_valuable_max_tier_rank') %}
{%- set candidate_max_rank = sql_literal(var('segment_lookalike_max_tier_rank', 4),
    'number', 'segment_lookalike_max_tier_rank') %}
{%- set premium_top_share = sql_literal(var('segment_premium_offer_top_share', 0.10),
    'number', 'segment_premium_offer_top_share') %}
{%- set string_type = dbt.type_string() %}

with

profiles as (

    select * from {{ ref('int_segment_customers_profiled') }}

),

value_tiers as (

    select * from {{ ref('int_segment_value_tiers_assigned') }}

),

needs as (

    select * from {{ ref('int_segment_needs_assigned') }}

),

lookalikes as (

    select * from {{ ref('int_segment_lookalikes_scored') }}

),

assignments as (

    select * from {{ ref('customer_service_assignment') }}

),

customer_categories as (

    select * from {{ ref('int_segment_customer_categories_aggregated') }}

),

top_tier_customers as (

    select customer_id
    from value_tiers
    where tier_rank <= {{ valuable_max_rank }}

),

top_tier_adoption as (

    select
        customer_categories.product_category,
        count(*) as top_tier_buyers
    from customer_categories
    inner join top_tier_customers
        on customer_categories.customer_id = top_tier_customers.customer_id
    group by customer_categories.product_category

),

top_tier_adoption_rates as (

    select
        top_tier_adoption.product_category,
        {{ divide('top_tier_adoption.top_tier_buyers', '(select count(*) from top_tier_customers)') }}
            as top_tier_adoption_rate
    from top_tier_adoption

),

-- The categories in upsell order, ranked once (a handful of rows), so that a customer's best
-- option is the lowest rank among the categories it has not bought: a min per customer
-- instead of a row_number over every customer x category.
ranked_upsell_categories as (

    select
        product_category,
        top_tier_adoption_rate,
        row_number() over (
            order by top_tier_adoption_rate desc, product_category asc
        ) as option_order
    from top_tier_adoption_rates

),

upsell_options as (

    select
        value_tiers.customer_id,
        min(ranked_upsell_categories.option_order) as best_option_order
    from value_tiers
    cross join ranked_upsell_categories
    left join customer_categories
        on value_tiers.customer_id = customer_categories.customer_id
        and ranked_upsell_categories.product_category = customer_categories.product_category
    where customer_categories.customer_id is null
    group by value_tiers.customer_id

),

best_upsells as (

    select
        upsell_options.customer_id,
        ranked_upsell_categories.product_category as upsell_category,
        ranked_upsell_categories.top_tier_adoption_rate
    from upsell_options
    inner join ranked_upsell_categories
        on upsell_options.best_option_order = ranked_upsell_categories.option_order

),

joined as (

    select
        value_tiers.customer_id,
        value_tiers.review_date,
        value_tiers.value_tier,
        value_tiers.tier_rank,
        needs.lifecycle_stage,
        needs.churn_risk,
        needs.support_channel,
        profiles.service_plan,
        profiles.predicted_clv,
        assignments.routing_queue,
        assignments.effective_service_level,
        assignments.allowed_channels,
        lookalikes.is_lookalike_candidate,
        lookalikes.lookalike_score,
        lookalikes.lookalike_rank,
        lookalikes.lookalike_candidates,
        lookalikes.lookalike_share,
        lookalikes.tenure_band,
        best_upsells.upsell_category,
        best_upsells.top_tier_adoption_rate,
        (
            needs.support_channel <> 'no_tickets'
            and {{ dbt.position(
                dbt.concat(["';'", "needs.support_channel", "';'"]),
                dbt.concat(["';'", "coalesce(assignments.allowed_channels, '')", "';'"])
            ) }} = 0
        ) as prefers_channel_not_allowed
    from value_tiers
    inner join needs
        on value_tiers.customer_id = needs.customer_id
    inner join profiles
        on value_tiers.customer_id = profiles.customer_id
    inner join assignments
        on value_tiers.customer_id = assignments.customer_id
    left join lookalikes
        on value_tiers.customer_id = lookalikes.customer_id
    left join best_upsells
        on value_tiers.customer_id = best_upsells.customer_id

),

decided as (

    select
        *,
        case
            when routing_queue = 'retention' then 'retention_call'
            when lifecycle_stage = 'onboarding' then 'onboarding_check_in'
            when lifecycle_stage = 'lapsed' and tier_rank <= {{ candidate_max_rank }} then 'win_back_offer'
            when prefers_channel_not_allowed then 'move_to_self_service'
            when is_lookalike_candidate
                and lookalike_share <= {{ premium_top_share }}
                and service_plan in ('none', 'basic')
                then 'offer_premium_plan'
            when upsell_category is not null
                and tier_rank <= {{ candidate_max_rank }}
                then 'upsell_category'
            else 'keep_current_service'
        end as next_best_action
    from joined

),

final as (

    select
        customer_id,
        review_date,
        next_best_action,
        case when next_best_action = 'upsell_category' then upsell_category end as recommended_category,
        case
            when next_best_action = 'retention_call'
                then {{ dbt.concat([
                    "'churn risk '", "churn_risk", "', routed to retention; predicted CLV '",
                    "cast(cast(" ~ round_number("predicted_clv", 0) ~ " as " ~ dbt.type_bigint() ~ ") as " ~ string_type ~ ")",
                ]) }}
            when next_best_action = 'onboarding_check_in'
                then {{ dbt.concat(["'new customer in onboarding, value tier '", "value_tier"]) }}
            when next_best_action = 'win_back_offer'
                then {{ dbt.concat(["'lapsed '", "value_tier", "' customer, churn risk '", "churn_risk"]) }}
            when next_best_action = 'move_to_self_service'
                then {{ dbt.concat([
                    "'prefers '", "support_channel", "', which service level '", "effective_service_level",
                    "' does not include ('", "allowed_channels", "')'",
                ]) }}
            when next_best_action = 'offer_premium_plan'
                then {{ dbt.concat([
                    "value_tier", "' look-alike of top-tier customers: rank '",
                    "cast(lookalike_rank as " ~ string_type ~ ")", "' of '",
                    "cast(lookalike_candidates as " ~ string_type ~ ")", "' in tenure band '", "tenure_band",
                    "', score '", "cast(cast(" ~ round_number("lookalike_score", 3) ~ " as numeric(18, 3)) as " ~ string_type ~ ")",
                    "'; plan '", "service_plan",
                ]) }}
            when next_best_action = 'upsell_category'
                then {{ dbt.concat([
                    "'not yet bought '", "upsell_category", "', bought by '",
                    "cast(cast(" ~ round_number("100 * top_tier_adoption_rate", 0) ~ " as " ~ dbt.type_bigint() ~ ") as " ~ string_type ~ ")",
                    "'% of top-tier customers'",
                ]) }}
            else 'no rule applies: keep the current service level'
        end as next_best_action_reason
    from decided

)

select * from final
