-- One value tier per customer with activity, as of the review date, from the rules in
-- seed value_tier_rules. Customers are ranked by value_score (best first; ties by
-- customer_id) within their tenure band (var segment_rank_within_tenure_band; false =
-- across all customers), so a new customer is compared with customers of the same age.
-- value_share = rank / customers in the band. A customer gets the first rule, by
-- tier_rank, whose conditions it meets: value_score >= min_value_score (when set) and
-- value_share <= max_cumulative_share (when set). The last rule has neither and catches
-- every remaining customer (the explicit negative-contribution tier).
{%- set rank_partition = 'tenure_band' if var('segment_rank_within_tenure_band', true) else 'review_date' %}

with

profiles as (

    select * from {{ ref('int_segment_customers_profiled') }}

),

value_tier_rules as (

    select * from {{ ref('value_tier_rules') }}

),

ranked as (

    select
        customer_id,
        review_date,
        tenure_band,
        tenure_years,
        value_score_years,
        lifetime_gross_margin,
        lifetime_customer_driven_cost_to_serve,
        lifetime_contribution,
        value_score,
        rolling_net_profit,
        predicted_clv,
        row_number() over (
            partition by {{ rank_partition }}
            order by value_score desc, customer_id
        ) as value_rank,
        count(*) over (partition by {{ rank_partition }}) as ranked_customers
    from profiles

),

shared as (

    select
        ranked.*,
        value_rank * 1.0 / ranked_customers as value_share
    from ranked

),

rule_matches as (

    select
        shared.customer_id,
        value_tier_rules.value_tier,
        value_tier_rules.tier_rank,
        value_tier_rules.max_cumulative_share,
        value_tier_rules.min_value_score,
        row_number() over (
            partition by shared.customer_id
            order by value_tier_rules.tier_rank
        ) as match_order
    from shared
    inner join value_tier_rules
        on (
            value_tier_rules.min_value_score is null
            or shared.value_score >= value_tier_rules.min_value_score
        )
        and (
            value_tier_rules.max_cumulative_share is null
            or shared.value_share <= value_tier_rules.max_cumulative_share
        )

),

assigned as (

    select
        shared.*,
        rule_matches.value_tier,
        rule_matches.tier_rank,
        rule_matches.max_cumulative_share,
        rule_matches.min_value_score
    from shared
    left join rule_matches
        on shared.customer_id = rule_matches.customer_id
        and rule_matches.match_order = 1

),

formatted as (

    select
        assigned.*,
        cast(cast(round(value_score, 0) as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }}) as value_score_text,
        cast(cast(round(lifetime_gross_margin, 0) as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }}) as gross_margin_text,
        cast(cast(round(lifetime_customer_driven_cost_to_serve, 0) as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }}) as cost_to_serve_text,
        cast(cast(round(value_score_years, 2) as numeric(18, 2)) as {{ dbt.type_string() }}) as years_text,
        cast(value_rank as {{ dbt.type_string() }}) as rank_text,
        cast(ranked_customers as {{ dbt.type_string() }}) as customers_text,
        cast(cast(round(100 * value_share, 1) as numeric(18, 1)) as {{ dbt.type_string() }}) as share_text,
        cast(cast(round(100 * max_cumulative_share, 1) as numeric(18, 1)) as {{ dbt.type_string() }}) as limit_text,
        cast(cast(round(min_value_score, 0) as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }}) as min_score_text,
        cast(cast(round(rolling_net_profit, 0) as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }}) as rolling_net_profit_text,
        cast(cast(round(coalesce(predicted_clv, 0), 0) as {{ dbt.type_bigint() }}) as {{ dbt.type_string() }}) as predicted_clv_text
    from assigned

),

explained as (

    select
        formatted.*,
        case
            when max_cumulative_share is not null and min_value_score is not null
                then {{ dbt.concat(["'in the top '", "limit_text", "'% of the band with a value score of at least '", "min_score_text"]) }}
            when max_cumulative_share is not null
                then {{ dbt.concat(["'in the top '", "limit_text", "'% of the band'"]) }}
            when min_value_score is not null
                then {{ dbt.concat(["'value score of at least '", "min_score_text"]) }}
            else 'no higher tier rule matched'
        end as rule_text
    from formatted

),

final as (

    select
        customer_id,
        review_date,
        value_tier,
        tier_rank,
        value_score,
        value_rank,
        ranked_customers,
        value_share,
        tenure_band,
        lifetime_contribution,
        {{ dbt.concat([
            "value_tier", "': value score '", "value_score_text", "' per year = (gross margin '",
            "gross_margin_text", "' - customer-driven cost to serve '", "cost_to_serve_text",
            "') / '", "years_text", "' years; rank '", "rank_text", "' of '", "customers_text",
            "' in tenure band '", "tenure_band", "' (top '", "share_text", "'%): '", "rule_text",
            "'; rolling net profit '", "rolling_net_profit_text", "', predicted CLV '", "predicted_clv_text"
        ]) }} as tier_reason
    from explained

)

select * from final
