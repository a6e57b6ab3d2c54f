-- The service each customer with activity gets, as of the review date, from its segment
-- memberships and the service policy (seed service_policy). Precedence when memberships
-- conflict (all of it data in the seed, none of it in this SQL):
--   service level and entitlements: the membership whose policy row has the highest
--     entitlement_rank wins, and every entitlement (SLA, channels, account manager,
--     concierge, loyalty benefits, cost-to-serve budget) comes from that row; ties: the
--     higher budget, then segment_family and segment alphabetically;
--   routing queue: among the memberships whose policy row has a routing_queue and whose
--     routing_min_predicted_clv (if any) the customer's predicted CLV reaches, the lowest
--     routing_precedence wins (shipped policy: churn_risk high -> retention 10,
--     onboarding -> onboarding 20, platinum/gold -> senior_agents 30, unprofitable ->
--     self_service 40, silver/bronze -> standard 50); none: var
--     segment_default_routing_queue.
with

memberships as (

    select * from {{ ref('customer_segment_memberships') }}

),

service_policy as (

    select * from {{ ref('service_policy') }}

),

profiles as (

    select * from {{ ref('int_segment_customers_profiled') }}

),

customers as (

    select
        customer_id,
        review_date,
        segment as value_tier
    from memberships
    where segment_family = 'value_tier'

),

policy_matches as (

    select
        memberships.customer_id,
        memberships.segment_family,
        memberships.segment,
        {{ dbt.concat(["memberships.segment_family", "':'", "memberships.segment"]) }} as membership,
        service_policy.service_level,
        service_policy.entitlement_rank,
        service_policy.sla_first_response_hours,
        service_policy.allowed_channels,
        service_policy.dedicated_account_manager,
        service_policy.concierge,
        service_policy.loyalty_benefits,
        service_policy.cost_to_serve_budget_per_year,
        service_policy.routing_queue,
        service_policy.routing_precedence,
        service_policy.routing_min_predicted_clv,
        coalesce(profiles.predicted_clv, 0) as predicted_clv
    from memberships
    inner join service_policy
        on memberships.segment_family = service_policy.segment_family
        and memberships.segment = service_policy.segment
    left join profiles
        on memberships.customer_id = profiles.customer_id

),

service_levels_ranked as (

    select
        *,
        row_number() over (
            partition by customer_id
            order by
                entitlement_rank desc,
                cost_to_serve_budget_per_year desc,
                segment_family asc,
                segment asc
        ) as level_order
    from policy_matches
    where service_level is not null

),

winning_service_levels as (

    select * from service_levels_ranked
    where level_order = 1

),

routes_checked as (

    select
        *,
        (
            routing_min_predicted_clv is null
            or predicted_clv >= routing_min_predicted_clv
        ) as meets_routing_condition
    from policy_matches
    where routing_queue is not null

),

routes_ranked as (

    select
        *,
        row_number() over (
            partition by customer_id
            order by routing_precedence, segment_family, segment
        ) as route_order
    from routes_checked
    where meets_routing_condition

),

winning_routes as (

    select * from routes_ranked
    where route_order = 1

),

skipped_routes as (

    select
        customer_id,
        {{ dbt.listagg(
            dbt.concat([
                "routing_queue", "'_skipped:'", "membership", "'(predicted_clv '",
                "cast(cast(" ~ round_number("predicted_clv", 0) ~ " as " ~ dbt.type_bigint() ~ ") as " ~ dbt.type_string() ~ ")",
                "' < '",
                "cast(cast(" ~ round_number("routing_min_predicted_clv", 0) ~ " as " ~ dbt.type_bigint() ~ ") as " ~ dbt.type_string() ~ ")",
                "')'",
            ]),
            "';'",
            "order by routing_precedence, membership",
        ) }} as skipped_route_codes
    from routes_checked
    where not meets_routing_condition
    group by customer_id

),

assigned as (

    select
        customers.customer_id,
        customers.review_date,
        customers.value_tier,
        winning_service_levels.service_level as effective_service_level,
        winning_service_levels.entitlement_rank,
        winning_service_levels.membership as service_level_source,
        coalesce(
            winning_routes.routing_queue,
            {{ sql_literal(var('segment_default_routing_queue', 'standard'), 'name', 'segment_default_routing_queue') }}
        ) as routing_queue,
        coalesce(winning_routes.membership, 'default') as routing_source,
        winning_service_levels.sla_first_response_hours,
        winning_service_levels.allowed_channels,
        coalesce(winning_service_levels.dedicated_account_manager, false) as dedicated_account_manager,
        coalesce(winning_service_levels.concierge, false) as concierge,
        winning_service_levels.loyalty_benefits,
        winning_service_levels.cost_to_serve_budget_per_year,
        coalesce(profiles.has_account_manager, false) as has_account_manager,
        profiles.account_manager_id,
        skipped_routes.skipped_route_codes
    from customers
    left join winning_service_levels
        on customers.customer_id = winning_service_levels.customer_id
    left join winning_routes
        on customers.customer_id = winning_routes.customer_id
    left join profiles
        on customers.customer_id = profiles.customer_id
    left join skipped_routes
        on customers.customer_id = skipped_routes.customer_id

),

final as (

    select
        customer_id,
        review_date,
        value_tier,
        effective_service_level,
        entitlement_rank,
        service_level_source,
        routing_queue,
        routing_source,
        sla_first_response_hours,
        allowed_channels,
        dedicated_account_manager,
        concierge,
        loyalty_benefits,
        {{ as_money('cost_to_serve_budget_per_year') }} as cost_to_serve_budget_per_year,
        has_account_manager,
        account_manager_id,
        {{ dbt.concat([
            "'level:'", "coalesce(service_level_source, 'none')",
            "';queue:'", "routing_source",
            "case when skipped_route_codes is not null then " ~ dbt.concat(["';'", "skipped_route_codes"]) ~ " else '' end",
            "case when dedicated_account_manager and not has_account_manager then ';account_manager_to_assign'"
            ~ " when has_account_manager and not dedicated_account_manager then ';account_manager_not_entitled'"
            ~ " else '' end",
        ]) }} as reason_codes
    from assigned

)

select * from final
