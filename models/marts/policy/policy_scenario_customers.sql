-- Who a proposed service policy changes, and what that costs or saves: one row per
-- scenario (int_policy_scenarios_defined) and customer whose service level, routing queue or
-- entitlements differ from today's (customer_service_assignment), on the current review.
-- Each scenario's policy is applied with the precedence of customer_service_assignment (the
-- highest entitlement_rank sets the level and every entitlement; the lowest
-- routing_precedence whose routing_min_predicted_clv is reached sets the queue; else var
-- segment_default_routing_queue); the scenario 'current policy' reproduces today's
-- assignment, so it has no row here (assert_policy_current_policy_changes_nothing).
-- Assumptions (seed policy_assumptions, low / central / high):
--   savings: contacts in phone, chat and email move to self-service, at the channel's
--     contact_shift_share, when the customer is newly routed to self_service or the
--     channel leaves its allowed channels; each moved contact saves the customer's own
--     cost per ticket in the channel minus the mean self-service ticket
--     (int_policy_customer_channel_costs); a named account manager costs
--     account_manager_cost_per_customer per year when the customer becomes entitled and
--     has none, and saves it when a customer who has one loses the entitlement.
--   margin at risk: predicted CLV (var segment_clv_horizon_months) x minus the retention
--     change: retention_change_per_level_step per service level step (seed service_levels)
--     down or up, plus retention_change_account_manager when a manager is added or removed.
-- Savings recur every year of the CLV horizon and are discounted like CLV (monthly, to each
-- month's end, at var clv_annual_discount_rate), so they compare with the margin at risk:
-- savings = the yearly saving x sum over the horizon's months m of (1 + rate)^(-m/12) / 12
-- (36 months at 10%: 2.58 years); cost_to_serve_change_central is per year.
-- Ranges: low <= central <= high for savings, margin at risk and net effect (savings minus
-- margin at risk), whatever the signs.
{%- set horizon_months = sql_literal(var('segment_clv_horizon_months', 36), 'number', 'segment_clv_horizon_months') | int %}
{%- set annual_rate = sql_literal(var('clv_annual_discount_rate', 0.10), 'number', 'clv_annual_discount_rate') | float %}
{%- set ns = namespace(horizon_years=0.0) %}
{%- for month in range(1, horizon_months + 1) %}
    {%- set ns.horizon_years = ns.horizon_years + (1 + annual_rate) ** (-month / 12) / 12 %}
{%- endfor %}
{%- set default_queue = sql_literal(var('segment_default_routing_queue', 'standard'), 'name', 'segment_default_routing_queue') %}
{%- set assisted_channels = ['phone', 'chat', 'email'] %}

with

scenarios as (

    select * from {{ ref('int_policy_scenarios_defined') }}

),

memberships as (

    select * from {{ ref('customer_segment_memberships') }}

),

assignments as (

    select * from {{ ref('customer_service_assignment') }}

),

profiles as (

    select * from {{ ref('int_segment_customers_profiled') }}

),

channel_costs as (

    select * from {{ ref('int_policy_customer_channel_costs') }}

),

assumptions as (

    select * from {{ ref('policy_assumptions') }}

),

service_levels as (

    select * from {{ ref('service_levels') }}

),

scenario_names as (

    select distinct scenario from scenarios

),

-- a number per scenario: the key of the per-customer picks below, cheaper to group and join
-- on over every customer than the scenario's name
scenario_numbers as (

    select
        scenario,
        row_number() over (order by scenario) as scenario_number
    from scenario_names

),

-- Each scenario's policy rows in the order that picks the service level among a customer's
-- memberships (highest entitlement_rank first), ranked once over the few policy rows: a
-- customer's pick is then the smallest rank among its memberships' rows, a min over small
-- integers instead of a window over every customer's memberships. (scenario, segment_family,
-- segment) is unique (assert_policy_scenario_rows_are_unique), so the order is total.
level_rows as (

    select
        scenario,
        segment_family,
        segment,
        {{ dbt.concat(["segment_family", "':'", "segment"]) }} as membership,
        service_level,
        sla_first_response_hours,
        allowed_channels,
        dedicated_account_manager,
        concierge,
        loyalty_benefits,
        row_number() over (
            partition by scenario
            order by entitlement_rank desc, cost_to_serve_budget_per_year desc, segment_family asc, segment asc
        ) as level_pick
    from scenarios
    where service_level is not null

),

-- the same for the routing queue: lowest routing_precedence first
route_rows as (

    select
        scenario,
        segment_family,
        segment,
        {{ dbt.concat(["segment_family", "':'", "segment"]) }} as membership,
        routing_queue,
        row_number() over (
            partition by scenario
            order by routing_precedence, segment_family, segment
        ) as route_pick
    from scenarios
    where routing_queue is not null

),

policy_rows_ranked as (

    select
        scenario_numbers.scenario_number,
        scenarios.segment_family,
        scenarios.segment,
        scenarios.routing_min_predicted_clv,
        level_rows.level_pick,
        route_rows.route_pick
    from scenarios
    inner join scenario_numbers
        on scenarios.scenario = scenario_numbers.scenario
    left join level_rows
        on scenarios.scenario = level_rows.scenario
        and scenarios.segment_family = level_rows.segment_family
        and scenarios.segment = level_rows.segment
    left join route_rows
        on scenarios.scenario = route_rows.scenario
        and scenarios.segment_family = route_rows.segment_family
        and scenarios.segment = route_rows.segment

),

scenario_matches as (

    select
        policy_rows_ranked.scenario_number,
        memberships.customer_id,
        policy_rows_ranked.level_pick,
        -- a route applies only when the customer's predicted CLV reaches its minimum
        case
            when policy_rows_ranked.routing_min_predicted_clv is null
                or coalesce(profiles.predicted_clv, 0) >= policy_rows_ranked.routing_min_predicted_clv
                then policy_rows_ranked.route_pick
        end as route_pick
    from memberships
    inner join policy_rows_ranked
        on memberships.segment_family = policy_rows_ranked.segment_family
        and memberships.segment = policy_rows_ranked.segment
    left join profiles
        on memberships.customer_id = profiles.customer_id

),

scenario_picks as (

    select
        scenario_number,
        customer_id,
        min(level_pick) as level_pick,
        min(route_pick) as route_pick
    from scenario_matches
    group by
        scenario_number,
        customer_id

),

-- today's assignment next to the scenario's, one row per scenario and customer
scenario_assignments as (

    select
        scenario_numbers.scenario,
        assignments.review_date,
        assignments.customer_id,
        assignments.value_tier,
        assignments.effective_service_level as current_service_level,
        level_rows.service_level as scenario_service_level,
        level_rows.membership as scenario_service_level_source,
        assignments.routing_queue as current_routing_queue,
        coalesce(route_rows.routing_queue, {{ default_queue }}) as scenario_routing_queue,
        coalesce(route_rows.membership, 'default') as scenario_routing_source,
        assignments.sla_first_response_hours as current_sla_first_response_hours,
        level_rows.sla_first_response_hours as scenario_sla_first_response_hours,
        assignments.allowed_channels as current_allowed_channels,
        level_rows.allowed_channels as scenario_allowed_channels,
        assignments.dedicated_account_manager as current_dedicated_account_manager,
        coalesce(level_rows.dedicated_account_manager, false) as scenario_dedicated_account_manager,
        assignments.concierge as current_concierge,
        coalesce(level_rows.concierge, false) as scenario_concierge,
        assignments.loyalty_benefits as current_loyalty_benefits,
        level_rows.loyalty_benefits as scenario_loyalty_benefits,
        assignments.has_account_manager
    from assignments
    cross join scenario_numbers
    left join scenario_picks
        on assignments.customer_id = scenario_picks.customer_id
        and scenario_numbers.scenario_number = scenario_picks.scenario_number
    left join level_rows
        on scenario_numbers.scenario = level_rows.scenario
        and scenario_picks.level_pick = level_rows.level_pick
    left join route_rows
        on scenario_numbers.scenario = route_rows.scenario
        and scenario_picks.route_pick = route_rows.route_pick

),

compared as (

    select
        scenario_assignments.scenario,
        scenario_assignments.review_date,
        scenario_assignments.customer_id,
        scenario_assignments.value_tier,
        scenario_assignments.current_service_level,
        scenario_assignments.scenario_service_level,
        scenario_assignments.scenario_service_level_source,
        coalesce(scenario_levels.level_order, 0) - coalesce(current_levels.level_order, 0) as service_level_steps,
        scenario_assignments.current_routing_queue,
        scenario_assignments.scenario_routing_queue,
        scenario_assignments.scenario_routing_source,
        scenario_assignments.current_sla_first_response_hours,
        scenario_assignments.scenario_sla_first_response_hours,
        scenario_assignments.current_allowed_channels,
        scenario_assignments.scenario_allowed_channels,
        scenario_assignments.current_dedicated_account_manager,
        scenario_assignments.scenario_dedicated_account_manager,
        scenario_assignments.current_concierge,
        scenario_assignments.scenario_concierge,
        scenario_assignments.current_loyalty_benefits,
        scenario_assignments.scenario_loyalty_benefits,
        scenario_assignments.has_account_manager,
        coalesce(profiles.predicted_clv, 0) as predicted_clv
    from scenario_assignments
    left join profiles
        on scenario_assignments.customer_id = profiles.customer_id
    left join service_levels as current_levels
        on scenario_assignments.current_service_level = current_levels.service_level
    left join service_levels as scenario_levels
        on scenario_assignments.scenario_service_level = scenario_levels.service_level

),

changes_flagged as (

    select
        compared.*,
        coalesce(current_service_level, '') <> coalesce(scenario_service_level, '') as is_service_level_changed,
        current_routing_queue <> scenario_routing_queue as is_routing_changed,
        coalesce(current_sla_first_response_hours, -1) <> coalesce(scenario_sla_first_response_hours, -1)
            or coalesce(current_allowed_channels, '') <> coalesce(scenario_allowed_channels, '')
            or current_dedicated_account_manager <> scenario_dedicated_account_manager
            or current_concierge <> scenario_concierge
            or coalesce(current_loyalty_benefits, '') <> coalesce(scenario_loyalty_benefits, '')
            as is_entitlement_changed,
        scenario_routing_queue = 'self_service' and current_routing_queue <> 'self_service' as is_routed_to_self_service,
        {%- for channel in assisted_channels %}
        {{ dbt.concat(["';'", "coalesce(current_allowed_channels, '')", "';'"]) }} like '%;{{ channel }};%'
            and {{ dbt.concat(["';'", "coalesce(scenario_allowed_channels, '')", "';'"]) }} not like '%;{{ channel }};%'
            as is_{{ channel }}_removed,
        {%- endfor %}
        case
            when scenario_dedicated_account_manager and not current_dedicated_account_manager and not has_account_manager
                then 'added'
            when current_dedicated_account_manager and not scenario_dedicated_account_manager and has_account_manager
                then 'removed'
            else 'unchanged'
        end as account_manager_change
    from compared

),

affected as (

    select * from changes_flagged
    where is_service_level_changed
        or is_routing_changed
        or is_entitlement_changed

),

-- the assisted channels' tickets and support cost per customer (a customer without any has
-- no row: zero below)
customer_channels as (

    select
        customer_id,
        {%- for channel in assisted_channels %}
        sum(case when support_channel = '{{ channel }}' then rolling_tickets else 0 end) as {{ channel }}_tickets,
        sum(case when support_channel = '{{ channel }}' then rolling_support_cost else 0 end) as {{ channel }}_support_cost{{ ',' if not loop.last }}
        {%- endfor %}
    from channel_costs
    where support_channel in ('{{ assisted_channels | join("', '") }}')
    group by customer_id

),

self_service_cost as (

    select max(self_service_cost_per_ticket) as self_service_cost_per_ticket
    from channel_costs

),

assumption_values as (

    select
        {%- for channel in assisted_channels %}
        {%- set channel_loop = loop %}
        {%- for bound in ['low', 'central', 'high'] %}
        max(case when assumption = 'contact_shift_share' and applies_to = '{{ channel }}' then value_{{ bound }} end)
            as {{ channel }}_shift_share_{{ bound }},
        {%- endfor %}
        {%- endfor %}
        {%- for bound in ['low', 'central', 'high'] %}
        max(case when assumption = 'account_manager_cost_per_customer' then value_{{ bound }} end)
            as account_manager_cost_{{ bound }},
        max(case when assumption = 'retention_change_per_level_step' and applies_to = 'down' then value_{{ bound }} end)
            as retention_change_level_down_{{ bound }},
        max(case when assumption = 'retention_change_per_level_step' and applies_to = 'up' then value_{{ bound }} end)
            as retention_change_level_up_{{ bound }},
        max(case when assumption = 'retention_change_account_manager' and applies_to = 'added' then value_{{ bound }} end)
            as retention_change_manager_added_{{ bound }},
        max(case when assumption = 'retention_change_account_manager' and applies_to = 'removed' then value_{{ bound }} end)
            as retention_change_manager_removed_{{ bound }}{{ ',' if not loop.last }}
        {%- endfor %}
    from assumptions

),

-- the saving per moved contact of each channel, and which channels' contacts move
moves as (

    select
        affected.*,
        {%- for channel in assisted_channels %}
        case when affected.is_routed_to_self_service or affected.is_{{ channel }}_removed
            then coalesce(customer_channels.{{ channel }}_tickets, 0) else 0 end as {{ channel }}_movable_tickets,
        case when affected.is_routed_to_self_service or affected.is_{{ channel }}_removed
            then coalesce(customer_channels.{{ channel }}_support_cost, 0)
                - coalesce(customer_channels.{{ channel }}_tickets, 0) * coalesce(self_service_cost.self_service_cost_per_ticket, 0)
            else 0 end as {{ channel }}_movable_saving,
        {%- endfor %}
        case when affected.account_manager_change = 'added' then 1 else 0 end as manager_added,
        case when affected.account_manager_change = 'removed' then 1 else 0 end as manager_removed,
        case when affected.service_level_steps < 0 then -affected.service_level_steps else 0 end as level_steps_down,
        case when affected.service_level_steps > 0 then affected.service_level_steps else 0 end as level_steps_up
    from affected
    left join customer_channels
        on affected.customer_id = customer_channels.customer_id
    cross join self_service_cost

),

-- each component at the low / central / high assumption; least / greatest keep the range
-- ordered whatever the sign of the component
components as (

    select
        moves.*,
        {%- for bound in ['low', 'central', 'high'] %}
        {%- for channel in assisted_channels %}{{ ' +' if not loop.first }}
        {{ channel }}_movable_tickets * {{ channel }}_shift_share_{{ bound }}
        {%- endfor %} as contacts_moved_{{ bound }},
        {%- for channel in assisted_channels %}{{ ' +' if not loop.first }}
        {{ channel }}_movable_saving * {{ channel }}_shift_share_{{ bound }}
        {%- endfor %} as contact_saving_{{ bound }},
        (manager_removed - manager_added) * account_manager_cost_{{ bound }} as manager_saving_{{ bound }},
        predicted_clv * -(
            level_steps_down * retention_change_level_down_{{ bound }}
            + level_steps_up * retention_change_level_up_{{ bound }}
            + manager_added * retention_change_manager_added_{{ bound }}
            + manager_removed * retention_change_manager_removed_{{ bound }}
        ) as margin_at_risk_at_{{ bound }}_assumption{{ ',' if not loop.last }}
        {%- endfor %}
    from moves
    cross join assumption_values

),

ranged as (

    select
        components.*,
        contact_saving_central + manager_saving_central as savings_per_year_central,
        {{ ns.horizon_years | round(10) }} * (least(contact_saving_low, contact_saving_high) + least(manager_saving_low, manager_saving_high))
            as savings_low,
        {{ ns.horizon_years | round(10) }} * (contact_saving_central + manager_saving_central) as savings_central,
        {{ ns.horizon_years | round(10) }} * (greatest(contact_saving_low, contact_saving_high) + greatest(manager_saving_low, manager_saving_high))
            as savings_high,
        least(margin_at_risk_at_low_assumption, margin_at_risk_at_high_assumption) as margin_at_risk_low,
        margin_at_risk_at_central_assumption as margin_at_risk_central,
        greatest(margin_at_risk_at_low_assumption, margin_at_risk_at_high_assumption) as margin_at_risk_high
    from components

),

reasoned as (

    select
        scenario,
        review_date,
        customer_id,
        value_tier,
        current_service_level,
        scenario_service_level,
        {{ as_count('service_level_steps') }} as service_level_steps,
        current_routing_queue,
        scenario_routing_queue,
        current_sla_first_response_hours,
        scenario_sla_first_response_hours,
        current_allowed_channels,
        scenario_allowed_channels,
        current_dedicated_account_manager,
        scenario_dedicated_account_manager,
        has_account_manager,
        account_manager_change,
        is_service_level_changed,
        is_routing_changed,
        is_entitlement_changed,
        {{ as_count('phone_movable_tickets + chat_movable_tickets + email_movable_tickets') }} as movable_tickets,
        {{ as_double('contacts_moved_central') }} as contacts_moved_central,
        {{ as_money('predicted_clv') }} as predicted_clv,
        {{ as_money('-savings_per_year_central') }} as cost_to_serve_change_central,
        {{ as_money('savings_low') }} as savings_low,
        {{ as_money('savings_central') }} as savings_central,
        {{ as_money('savings_high') }} as savings_high,
        {{ as_money('margin_at_risk_low') }} as margin_at_risk_low,
        {{ as_money('margin_at_risk_central') }} as margin_at_risk_central,
        {{ as_money('margin_at_risk_high') }} as margin_at_risk_high,
        {{ as_money('savings_low - margin_at_risk_high') }} as net_effect_low,
        {{ as_money('savings_central - margin_at_risk_central') }} as net_effect_central,
        {{ as_money('savings_high - margin_at_risk_low') }} as net_effect_high,
        {{ dbt.concat([
            "case when is_service_level_changed then " ~ dbt.concat([
                "';service_level:'", "coalesce(current_service_level, 'none')", "'->'",
                "coalesce(scenario_service_level, 'none')", "'('", "coalesce(scenario_service_level_source, 'none')", "')'"]) ~ " else '' end",
            "case when is_routing_changed then " ~ dbt.concat([
                "';queue:'", "current_routing_queue", "'->'", "scenario_routing_queue", "'('", "scenario_routing_source", "')'"]) ~ " else '' end",
            "case when coalesce(current_sla_first_response_hours, -1) <> coalesce(scenario_sla_first_response_hours, -1) then ';sla_changed' else '' end",
            "case when is_phone_removed then ';channel_removed:phone' else '' end",
            "case when is_chat_removed then ';channel_removed:chat' else '' end",
            "case when is_email_removed then ';channel_removed:email' else '' end",
            "case when coalesce(current_allowed_channels, '') <> coalesce(scenario_allowed_channels, '') and not (is_phone_removed or is_chat_removed or is_email_removed) then ';channels_changed' else '' end",
            "case when current_dedicated_account_manager <> scenario_dedicated_account_manager then "
            ~ dbt.concat(["';account_manager_entitlement:'", "case when scenario_dedicated_account_manager then 'granted' else 'withdrawn' end",
                          "case when account_manager_change = 'unchanged' then '(no cost change)' else " ~ dbt.concat(["'('", "account_manager_change", "')'"]) ~ " end"])
            ~ " else '' end",
            "case when current_concierge <> scenario_concierge then ';concierge_changed' else '' end",
            "case when coalesce(current_loyalty_benefits, '') <> coalesce(scenario_loyalty_benefits, '') then ';loyalty_benefits_changed' else '' end",
        ]) }} as change_reasons
    from ranged

),

final as (

    select
        scenario,
        review_date,
        customer_id,
        value_tier,
        current_service_level,
        scenario_service_level,
        service_level_steps,
        current_routing_queue,
        scenario_routing_queue,
        current_sla_first_response_hours,
        scenario_sla_first_response_hours,
        current_allowed_channels,
        scenario_allowed_channels,
        current_dedicated_account_manager,
        scenario_dedicated_account_manager,
        has_account_manager,
        account_manager_change,
        is_service_level_changed,
        is_routing_changed,
        is_entitlement_changed,
        movable_tickets,
        contacts_moved_central,
        predicted_clv,
        cost_to_serve_change_central,
        savings_low,
        savings_central,
        savings_high,
        margin_at_risk_low,
        margin_at_risk_central,
        margin_at_risk_high,
        net_effect_low,
        net_effect_central,
        net_effect_high,
        -- every change, as codes (the leading ';' of the first one dropped)
        substr(change_reasons, 2) as change_reasons
    from reasoned

)

select * from final
