-- Where the service a customer gets differs from what the service policy entitles them
-- to, as of the review date, one row per customer and gap, with the reason in words.
--   under_served (an entitlement not delivered):
--     account_manager_missing         the policy grants a named account manager, none is assigned
--     valuable_routed_to_self_service a valuable customer (value tier rank <= var
--                                     segment_valuable_max_tier_rank) whose contacts go to self-service
--     csat_below_threshold            a valuable customer whose mean CSAT in the rolling window
--                                     is below var segment_under_served_csat_below (with a response)
--     first_response_above_sla        the mean time to first response of the customer's tickets
--                                     in the rolling window (those with a first_response_at) is
--                                     above the SLA of the service level they are entitled to
--                                     (seeds/service_policy.csv, sla_first_response_hours); any tier
--   over_served (service above entitlement), with its cost per year (the rolling window,
--   var rolling_window_months, scaled to 12 months):
--     account_manager_not_entitled    an account manager the policy does not grant; cost = the
--                                     account-management cost allocated to the customer
--     cost_to_serve_above_budget      cost to serve per year above the policy budget; cost = the excess
-- The valuable-customer rules (self-service, CSAT) are the same as segment_economics'
-- under-served count; first_response_above_sla is not part of that count.
{%- set valuable_max_rank = sql_literal(var('segment_valuable_max_tier_rank', 2),
    'number', 'segment_valuable_max_tier_rank') %}
{%- set csat_below = sql_literal(var('segment_under_served_csat_below', 3),
    'number', 'segment_under_served_csat_below') %}
{%- set window_months = var('rolling_window_months', 12) | int %}
{%- set string_type = dbt.type_string() %}
{#- The mean CSAT is written with two decimals as decimal(4, 2) on every engine: PostgreSQL's
    round keeps trailing zeros and DuckDB's double drops them, so the reason texts would differ. #}

with

customer_segments as (

    select * from {{ ref('dim_customer_segments') }}

),

assignments as (

    select * from {{ ref('customer_service_assignment') }}

),

profiles as (

    select * from {{ ref('int_segment_customers_profiled') }}

),

customer_facts as (

    select
        customer_segments.customer_id,
        customer_segments.review_date,
        customer_segments.value_tier,
        customer_segments.tier_rank <= {{ valuable_max_rank }} as is_valuable,
        customer_segments.churn_risk,
        customer_segments.effective_service_level,
        customer_segments.routing_queue,
        assignments.service_level_source,
        assignments.dedicated_account_manager,
        assignments.has_account_manager,
        assignments.account_manager_id,
        assignments.cost_to_serve_budget_per_year,
        assignments.sla_first_response_hours,
        customer_segments.predicted_clv,
        profiles.rolling_csat_responses,
        profiles.rolling_mean_csat,
        profiles.rolling_first_responses,
        profiles.rolling_mean_first_response_hours,
        profiles.rolling_cost_to_serve,
        (
            profiles.rolling_cost_to_serve - profiles.rolling_customer_driven_cost_to_serve
        ) * 12.0 / {{ window_months }} as account_management_cost_per_year,
        profiles.rolling_cost_to_serve * 12.0 / {{ window_months }} as cost_to_serve_per_year
    from customer_segments
    inner join assignments
        on customer_segments.customer_id = assignments.customer_id
    inner join profiles
        on customer_segments.customer_id = profiles.customer_id

),

account_managers_missing as (

    select
        *,
        'under_served' as gap_direction,
        'account_manager_missing' as gap_type,
        {{ dbt.concat([
            "'the policy of '", "coalesce(service_level_source, 'none')",
            "' grants a named account manager; none is assigned'",
        ]) }} as gap_reason,
        cast(null as {{ dbt.type_numeric() }}) as over_service_cost
    from customer_facts
    where dedicated_account_manager and not has_account_manager

),

valuable_in_self_service as (

    select
        *,
        'under_served' as gap_direction,
        'valuable_routed_to_self_service' as gap_type,
        {{ dbt.concat(["value_tier", "' customer routed to the self_service queue'"]) }} as gap_reason,
        cast(null as {{ dbt.type_numeric() }}) as over_service_cost
    from customer_facts
    where is_valuable and routing_queue = 'self_service'

),

low_csat as (

    select
        *,
        'under_served' as gap_direction,
        'csat_below_threshold' as gap_type,
        {{ dbt.concat([
            "'mean CSAT '",
            "cast(cast(" ~ round_number("rolling_mean_csat", 2) ~ " as decimal(4, 2)) as " ~ string_type ~ ")",
            "' over '", "cast(rolling_csat_responses as " ~ string_type ~ ")",
            "' responses in the last " ~ window_months ~ " months, below " ~ csat_below ~ "'",
        ]) }} as gap_reason,
        cast(null as {{ dbt.type_numeric() }}) as over_service_cost
    from customer_facts
    where is_valuable
        and rolling_csat_responses > 0
        and rolling_mean_csat < {{ csat_below }}

),

slow_first_responses as (

    select
        *,
        'under_served' as gap_direction,
        'first_response_above_sla' as gap_type,
        {{ dbt.concat([
            "'mean first response '",
            "cast(cast(" ~ round_number("rolling_mean_first_response_hours", 1) ~ " as decimal(8, 1)) as " ~ string_type ~ ")",
            "' h over '", "cast(rolling_first_responses as " ~ string_type ~ ")",
            "' tickets in the last " ~ window_months ~ " months, SLA '",
            "cast(cast(" ~ round_number("sla_first_response_hours", 1) ~ " as decimal(8, 1)) as " ~ string_type ~ ")",
            "' h ('", "effective_service_level", "')'",
        ]) }} as gap_reason,
        cast(null as {{ dbt.type_numeric() }}) as over_service_cost
    from customer_facts
    where rolling_first_responses > 0
        and rolling_mean_first_response_hours > sla_first_response_hours

),

account_managers_not_entitled as (

    select
        *,
        'over_served' as gap_direction,
        'account_manager_not_entitled' as gap_type,
        {{ dbt.concat([
            "'account manager '", "account_manager_id",
            "' assigned, but the policy of '", "coalesce(service_level_source, 'none')", "' does not grant one'",
        ]) }} as gap_reason,
        account_management_cost_per_year as over_service_cost
    from customer_facts
    where has_account_manager and not dedicated_account_manager

),

above_budget as (

    select
        *,
        'over_served' as gap_direction,
        'cost_to_serve_above_budget' as gap_type,
        {{ dbt.concat([
            "'cost to serve '",
            "cast(cast(" ~ round_number("cost_to_serve_per_year", 0) ~ " as " ~ dbt.type_bigint() ~ ") as " ~ string_type ~ ")",
            "' per year, budget '",
            "cast(cast(" ~ round_number("cost_to_serve_budget_per_year", 0) ~ " as " ~ dbt.type_bigint() ~ ") as " ~ string_type ~ ")",
        ]) }} as gap_reason,
        cost_to_serve_per_year - cost_to_serve_budget_per_year as over_service_cost
    from customer_facts
    where cost_to_serve_per_year > cost_to_serve_budget_per_year

),

gaps as (

    select * from account_managers_missing
    union all
    select * from valuable_in_self_service
    union all
    select * from low_csat
    union all
    select * from slow_first_responses
    union all
    select * from account_managers_not_entitled
    union all
    select * from above_budget

),

final as (

    select
        customer_id,
        review_date,
        gap_direction,
        gap_type,
        gap_reason,
        {{ as_money('over_service_cost') }} as over_service_cost_per_year,
        {{ sql_literal(var('reporting_currency', 'USD'), 'currency', 'reporting_currency') }} as currency,
        value_tier,
        is_valuable,
        churn_risk,
        effective_service_level,
        routing_queue,
        dedicated_account_manager as is_entitled_to_account_manager,
        account_manager_id,
        {{ as_money('cost_to_serve_budget_per_year') }} as cost_to_serve_budget_per_year,
        {{ as_money('cost_to_serve_per_year') }} as cost_to_serve_per_year,
        {{ as_double('rolling_mean_csat') }} as rolling_mean_csat,
        {{ as_double('sla_first_response_hours') }} as sla_first_response_hours,
        {{ as_double('rolling_mean_first_response_hours') }} as rolling_mean_first_response_hours,
        {{ as_money('predicted_clv') }} as predicted_clv
    from gaps

)

select * from final
