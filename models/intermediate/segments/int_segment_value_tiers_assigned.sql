-- One value tier per customer with activity, as of the review date, from the rules in
-- seed value_tier_rules.
--
-- value_score, the number tiers rank on, is the customer's observed contribution per
-- year (int_segment_customers_profiled.observed_value_score) weighted with a prior, as
-- in credibility theory:
--   value_score = (1 - w) * observed_value_score + w * value_prior_score,
--   w = k / (value_score_years + k), k = var segment_value_prior_weight_years,
-- i.e. (lifetime contribution + k * prior) / (years + k): the prior counts as k years of
-- the customer's own history. A customer of a few weeks leans on the prior, a customer of
-- several years on its own record. The prior is the mean observed_value_score of the
-- reference customers (tenure >= var segment_value_prior_min_tenure_years) that share
-- the customer's values of the attributes in var segment_value_prior_attributes (columns
-- of the profile known from signup: service plan, size group, acquisition channel; not
-- the account manager, an entitlement the tier itself grants); with fewer than var
-- segment_value_prior_min_customers such customers, the mean of all reference customers.
-- k = 0 turns the prior off.
--
-- Customers are ranked by value_score (best first; ties by customer_id) within their
-- tenure band (var segment_rank_within_tenure_band; false = across all customers), so a
-- new customer is compared with customers of the same age. value_share = rank /
-- customers in the band. A customer gets the first rule, by tier_rank, whose conditions
-- it meets: value_score >= min_value_score (when set) and value_share <=
-- max_cumulative_share (when set). The last rule has neither and catches every remaining
-- customer (the explicit unprofitable tier: a negative value score).
{%- set rank_partition = 'tenure_band' if var('segment_rank_within_tenure_band', true) else 'review_date' %}
{%- set prior_weight_years = sql_literal(var('segment_value_prior_weight_years', 0.1),
    'number', 'segment_value_prior_weight_years') %}
{%- set prior_min_tenure_years = sql_literal(var('segment_value_prior_min_tenure_years', 1),
    'number', 'segment_value_prior_min_tenure_years') %}
{%- set prior_min_customers = sql_literal(var('segment_value_prior_min_customers', 3),
    'number', 'segment_value_prior_min_customers') %}
{%- set prior_attributes = var(
    'segment_value_prior_attributes', ['service_plan', 'size_group', 'acquisition_channel']
) %}
{%- set prior_key_parts = [] %}
{%- for attribute in prior_attributes %}
{%- if not loop.first %}{%- do prior_key_parts.append("' / '") %}{%- endif %}
{%- do prior_key_parts.append(
    "coalesce(cast(" ~ sql_name(attribute, 'segment_value_prior_attributes')
    ~ " as " ~ dbt.type_string() ~ "), '(none)')"
) %}
{%- endfor %}
{%- set prior_key = dbt.concat(prior_key_parts) if prior_key_parts else "'all customers'" %}
{%- set reference_text = "' customers of " ~ prior_min_tenure_years ~ "+ years" %}
{%- set attributes_text = " with " ~ (prior_attributes | join(' / ')) ~ " = '" if prior_attributes else ": '" %}
{%- set cell_text = reference_text ~ attributes_text %}
{%- set string_type = dbt.type_string() %}
{%- set bigint_type = dbt.type_bigint() %}

with

profiles as (

    select * from {{ ref('int_segment_customers_profiled') }}

),

value_tier_rules as (

    select * from {{ ref('value_tier_rules') }}

),

keyed as (

    select
        customer_id,
        review_date,
        tenure_band,
        tenure_years,
        value_score_years,
        lifetime_gross_margin,
        lifetime_customer_driven_cost_to_serve,
        lifetime_contribution,
        observed_value_score,
        rolling_net_profit,
        predicted_clv,
        {{ prior_key }} as value_prior_key,
        tenure_years >= {{ prior_min_tenure_years }} as is_value_prior_reference
    from profiles

),

prior_cells as (

    select
        review_date,
        value_prior_key,
        {{ exact_mean('observed_value_score') }} as cell_prior_score,
        count(*) as cell_prior_customers
    from keyed
    where is_value_prior_reference
    group by
        review_date,
        value_prior_key

),

prior_overall as (

    select
        review_date,
        {{ exact_mean('observed_value_score') }} as overall_prior_score,
        count(*) as overall_prior_customers
    from keyed
    where is_value_prior_reference
    group by review_date

),

prior_matches as (

    select
        keyed.*,
        prior_cells.cell_prior_score,
        prior_cells.cell_prior_customers,
        prior_overall.overall_prior_score,
        prior_overall.overall_prior_customers,
        coalesce(prior_cells.cell_prior_customers, 0) >= {{ prior_min_customers }} as has_cell_prior
    from keyed
    left join prior_cells
        on keyed.review_date = prior_cells.review_date
        and keyed.value_prior_key = prior_cells.value_prior_key
    left join prior_overall
        on keyed.review_date = prior_overall.review_date

),

priors as (

    select
        prior_matches.*,
        case
            when prior_matches.has_cell_prior then prior_matches.cell_prior_score
            else coalesce(prior_matches.overall_prior_score, 0)
        end as value_prior_score,
        case
            when prior_matches.has_cell_prior then prior_matches.cell_prior_customers
            else coalesce(prior_matches.overall_prior_customers, 0)
        end as value_prior_customers,
        {{ divide(prior_weight_years, 'prior_matches.value_score_years + ' ~ prior_weight_years) }}
            as value_prior_weight
    from prior_matches

),

scored as (

    select
        priors.*,
        (1 - priors.value_prior_weight) * priors.observed_value_score
        + priors.value_prior_weight * priors.value_prior_score as value_score
    from priors

),

ranked as (

    select
        *,
        row_number() over (
            partition by {{ rank_partition }}
            order by value_score desc, customer_id asc
        ) as value_rank,
        count(*) over (partition by {{ rank_partition }}) as ranked_customers
    from scored

),

shared as (

    select
        *,
        {{ divide('value_rank', 'ranked_customers') }} as value_share
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
        *,
        cast(cast({{ round_number('value_score', 0) }} as {{ bigint_type }}) as {{ string_type }}) as value_score_text,
        cast(cast({{ round_number('observed_value_score', 0) }} as {{ bigint_type }}) as {{ string_type }})
            as observed_score_text,
        cast(cast({{ round_number('value_prior_score', 0) }} as {{ bigint_type }}) as {{ string_type }})
            as prior_score_text,
        cast(value_prior_customers as {{ string_type }}) as prior_customers_text,
        cast(cast({{ round_number('100 * (1 - value_prior_weight)', 0) }} as {{ bigint_type }}) as {{ string_type }})
            as own_weight_text,
        cast(cast({{ round_number('100 * value_prior_weight', 0) }} as {{ bigint_type }}) as {{ string_type }})
            as prior_weight_text,
        cast(cast({{ round_number('lifetime_gross_margin', 0) }} as {{ bigint_type }}) as {{ string_type }})
            as gross_margin_text,
        cast(
            cast(
                {{ round_number('lifetime_customer_driven_cost_to_serve', 0) }} as {{ bigint_type }}
            ) as {{ string_type }}
        ) as cost_to_serve_text,
        cast(cast({{ round_number('value_score_years', 2) }} as numeric(18, 2)) as {{ string_type }}) as years_text,
        cast(value_rank as {{ string_type }}) as rank_text,
        cast(ranked_customers as {{ string_type }}) as customers_text,
        cast(cast({{ round_number('100 * value_share', 1) }} as numeric(18, 1)) as {{ string_type }}) as share_text,
        cast(cast({{ round_number('100 * max_cumulative_share', 1) }} as numeric(18, 1)) as {{ string_type }})
            as limit_text,
        cast(cast({{ round_number('min_value_score', 0) }} as {{ bigint_type }}) as {{ string_type }})
            as min_score_text,
        cast(cast({{ round_number('rolling_net_profit', 0) }} as {{ bigint_type }}) as {{ string_type }})
            as rolling_net_profit_text,
        cast(cast({{ round_number('coalesce(predicted_clv, 0)', 0) }} as {{ bigint_type }}) as {{ string_type }})
            as predicted_clv_text
    from assigned

),

explained as (

    select
        *,
        case
            when max_cumulative_share is not null and min_value_score is not null
                then {{ dbt.concat([
                    "'in the top '", "limit_text", "'% of the band with a value score of at least '", "min_score_text"
                ]) }}
            when max_cumulative_share is not null
                then {{ dbt.concat(["'in the top '", "limit_text", "'% of the band'"]) }}
            when min_value_score is not null
                then {{ dbt.concat(["'value score of at least '", "min_score_text"]) }}
            else 'no higher tier rule matched'
        end as rule_text,
        case
            when has_cell_prior
                then {{ dbt.concat(["'mean of the '", "prior_customers_text", cell_text, "value_prior_key"]) }}
            else {{ dbt.concat(["'mean of all '", "prior_customers_text", reference_text ~ "'"]) }}
        end as prior_text
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
        observed_value_score,
        value_prior_key,
        value_prior_score,
        value_prior_customers,
        value_prior_weight,
        {{ dbt.concat([
            "value_tier", "': value score '", "value_score_text", "' per year = '", "own_weight_text",
            "'% own rate '", "observed_score_text", "' ((gross margin '",
            "gross_margin_text", "' - customer-driven cost to serve '", "cost_to_serve_text",
            "') / '", "years_text", "' years) + '", "prior_weight_text", "'% prior '", "prior_score_text",
            "' ('", "prior_text", "'); rank '", "rank_text", "' of '", "customers_text",
            "' in tenure band '", "tenure_band", "' (top '", "share_text", "'%): '", "rule_text",
            "'; rolling net profit '", "rolling_net_profit_text", "', predicted CLV '", "predicted_clv_text"
        ]) }} as tier_reason
    from explained

)

select * from final
