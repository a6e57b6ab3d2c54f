-- Economics of every segment as of the review date, one row per segment family and
-- segment, over the rolling window ending on the review date (var
-- rolling_window_months): customers, revenue, net profit and their shares of the family
-- (each family partitions the customers, so shares sum to 1 per family), cost to serve
-- against revenue and against the policy budget, average predicted CLV, and the
-- valuable customers who are under-served.
--   is_over_served: rolling cost to serve per customer > the average cost-to-serve
--     budget of the segment's customers (each customer's budget comes from its effective
--     service level in customer_service_assignment, i.e. seed service_policy).
--   under_served_valuable_customers: customers of a value tier with tier_rank <= var
--     segment_valuable_max_tier_rank (platinum, gold) who are routed to self_service or
--     whose mean CSAT in the rolling window is below var segment_under_served_csat_below.
--   customers_above_first_response_sla: customers of any tier whose mean time to first
--     response over the rolling window's answered tickets is above the SLA of their
--     service level (customer_service_assignment); customer_entitlement_gaps lists them as
--     first_response_above_sla. A column apart, so under_served_valuable_customers keeps its
--     meaning (and its values) from before the tickets carried a first response.
--   attach rate: contract_customers (a clean paid service contract running on the review
--     date: service_plan of int_segment_customers_profiled is not 'none') / customers;
--     contract_revenue in the rolling window (int_customer_contract_revenues_aggregated); the
--     previous review's attach rate and the change since, from segment_attach_rates (null
--     for the families the review history does not keep, and without a previous review).
{%- set valuable_max_rank = sql_literal(var('segment_valuable_max_tier_rank', 2),
    'number', 'segment_valuable_max_tier_rank') %}
{%- set csat_below = sql_literal(var('segment_under_served_csat_below', 3),
    'number', 'segment_under_served_csat_below') %}

with

memberships as (

    select * from {{ ref('customer_segment_memberships') }}

),

profiles as (

    select * from {{ ref('int_segment_customers_profiled') }}

),

value_tiers as (

    select * from {{ ref('int_segment_value_tiers_assigned') }}

),

assignments as (

    select * from {{ ref('customer_service_assignment') }}

),

customer_contract_revenues as (

    select * from {{ ref('int_customer_contract_revenues_aggregated') }}

),

review as (

    select * from {{ ref('int_review_identified') }}

),

attach_rates as (

    select * from {{ ref('segment_attach_rates') }}

),

previous_attach_rates as (

    select
        attach_rates.segment_family,
        attach_rates.segment,
        attach_rates.previous_attach_rate,
        attach_rates.attach_rate_change
    from attach_rates
    inner join review
        on attach_rates.review_id = review.review_id

),

customer_facts as (

    select
        profiles.customer_id,
        profiles.rolling_net_revenue,
        profiles.rolling_net_profit,
        profiles.rolling_cost_to_serve,
        coalesce(profiles.predicted_clv, 0) as predicted_clv,
        assignments.cost_to_serve_budget_per_year,
        profiles.service_plan <> 'none' as has_service_contract,
        coalesce(customer_contract_revenues.rolling_contract_revenue, 0) as rolling_contract_revenue,
        value_tiers.tier_rank <= {{ valuable_max_rank }} as is_valuable,
        (
            value_tiers.tier_rank <= {{ valuable_max_rank }}
            and (
                assignments.routing_queue = 'self_service'
                or (profiles.rolling_csat_responses > 0 and profiles.rolling_mean_csat < {{ csat_below }})
            )
        ) as is_under_served,
        coalesce(
            profiles.rolling_first_responses > 0
            and profiles.rolling_mean_first_response_hours > assignments.sla_first_response_hours,
            false
        ) as is_above_first_response_sla
    from profiles
    inner join value_tiers
        on profiles.customer_id = value_tiers.customer_id
    inner join assignments
        on profiles.customer_id = assignments.customer_id
    left join customer_contract_revenues
        on profiles.customer_id = customer_contract_revenues.customer_id

),

segment_totals as (

    select
        memberships.segment_family,
        memberships.segment,
        memberships.review_date,
        count(*) as customers,
        sum(customer_facts.rolling_net_revenue) as revenue,
        sum(customer_facts.rolling_net_profit) as net_profit,
        sum(customer_facts.rolling_cost_to_serve) as cost_to_serve,
        {{ exact_mean('customer_facts.predicted_clv') }} as avg_predicted_clv,
        avg(customer_facts.cost_to_serve_budget_per_year) as avg_cost_to_serve_budget,
        cast(sum(case when customer_facts.is_valuable then 1 else 0 end) as {{ dbt.type_bigint() }})
            as valuable_customers,
        cast(sum(case when customer_facts.is_under_served then 1 else 0 end) as {{ dbt.type_bigint() }})
            as under_served_valuable_customers,
        cast(sum(case when customer_facts.is_above_first_response_sla then 1 else 0 end) as {{ dbt.type_bigint() }})
            as customers_above_first_response_sla,
        sum(case when customer_facts.has_service_contract then 1 else 0 end) as contract_customers,
        sum(customer_facts.rolling_contract_revenue) as contract_revenue
    from memberships
    inner join customer_facts
        on memberships.customer_id = customer_facts.customer_id
    group by
        memberships.segment_family,
        memberships.segment,
        memberships.review_date

),

family_totals as (

    select
        *,
        sum(customers) over (partition by segment_family) as family_customers,
        sum(revenue) over (partition by segment_family) as family_revenue,
        sum(net_profit) over (partition by segment_family) as family_net_profit
    from segment_totals

),

final as (

    select
        family_totals.segment_family,
        family_totals.segment,
        family_totals.review_date,
        family_totals.customers,
        {{ divide('customers', 'family_customers') }} as customer_share,
        {{ as_money('revenue') }} as revenue,
        {{ divide('revenue', 'nullif(family_revenue, 0)') }} as revenue_share,
        {{ as_money('net_profit') }} as net_profit,
        {{ divide('net_profit', 'nullif(family_net_profit, 0)') }} as net_profit_share,
        {{ as_money('cost_to_serve') }} as cost_to_serve,
        {{ as_money(divide('cost_to_serve', 'customers')) }} as cost_to_serve_per_customer,
        {{ divide('cost_to_serve', 'nullif(revenue, 0)') }} as cost_to_serve_to_revenue_ratio,
        {{ as_money('avg_predicted_clv') }} as avg_predicted_clv,
        {{ as_money('avg_cost_to_serve_budget') }} as avg_cost_to_serve_budget,
        coalesce({{ divide('cost_to_serve', 'customers') }} > avg_cost_to_serve_budget, false) as is_over_served,
        family_totals.valuable_customers,
        family_totals.under_served_valuable_customers,
        family_totals.customers_above_first_response_sla,
        {{ as_count('contract_customers') }} as contract_customers,
        {{ divide('contract_customers', 'customers') }} as attach_rate,
        {{ as_money('contract_revenue') }} as contract_revenue,
        previous_attach_rates.previous_attach_rate,
        previous_attach_rates.attach_rate_change
    from family_totals
    left join previous_attach_rates
        on family_totals.segment_family = previous_attach_rates.segment_family
        and family_totals.segment = previous_attach_rates.segment

)

select * from final
