-- Look-alike score: how much a mid-tier customer (value tier rank above var
-- segment_valuable_max_tier_rank and up to var segment_lookalike_max_tier_rank: silver
-- and bronze) behaves like the top-tier customers (platinum, gold) of the same tenure
-- band. Four behaviour features, each standardised within the tenure band (z = (x - band
-- mean) / band standard deviation; 0 when the band has no spread):
--   order_rate       ln(1 + completed orders per year)
--   order_margin     ln(1 + gross margin per completed order, floored at 0)
--   breadth          product categories bought
--   support_rate     ln(1 + tickets per year)
-- distance = Euclidean distance from the customer's z-vector to the band's top-tier
-- centroid (mean z of its platinum and gold customers); lookalike_score = 1 / (1 +
-- distance), in (0, 1], 1 = exactly like the average top-tier customer. Candidates are
-- ranked within their band (1 = most similar). Bands without top-tier customers score null.
{%- set valuable_max_rank = sql_literal(var('segment_valuable_max_tier_rank', 2),
    'number', 'segment_valuable_max_tier_rank') %}
{%- set candidate_max_rank = sql_literal(var('segment_lookalike_max_tier_rank', 4),
    'number', 'segment_lookalike_max_tier_rank') %}
{%- set features = ['order_rate', 'order_margin', 'breadth', 'support_rate'] %}

with

profiles as (

    select * from {{ ref('int_segment_customers_profiled') }}

),

value_tiers as (

    select * from {{ ref('int_segment_value_tiers_assigned') }}

),

featured as (

    select
        profiles.customer_id,
        profiles.review_date,
        profiles.tenure_band,
        value_tiers.value_tier,
        value_tiers.tier_rank,
        value_tiers.tier_rank <= {{ valuable_max_rank }} as is_top_tier,
        (
            value_tiers.tier_rank > {{ valuable_max_rank }}
            and value_tiers.tier_rank <= {{ candidate_max_rank }}
        ) as is_lookalike_candidate,
        ln(1 + {{ divide('profiles.lifetime_completed_orders', 'profiles.value_score_years') }}) as order_rate,
        ln(1 + case
            when profiles.lifetime_completed_orders > 0 and profiles.lifetime_gross_margin > 0
                then {{ divide('profiles.lifetime_gross_margin', 'profiles.lifetime_completed_orders') }}
            else 0
        end) as order_margin,
        profiles.categories_bought * 1.0 as breadth,
        ln(1 + {{ divide('profiles.tickets_to_date', 'profiles.value_score_years') }}) as support_rate
    from profiles
    inner join value_tiers
        on profiles.customer_id = value_tiers.customer_id

),

-- In the next four steps sqlfluff places the lines of an unrolled Jinja loop wrongly (LT02).
-- noqa: disable=LT02
band_statistics as (

    select
        *,
        {%- for feature in features %}
        {{ exact_mean(feature, over='over (partition by tenure_band)') }} as {{ feature }}_mean,
        {{ exact_stddev_samp(feature, over='over (partition by tenure_band)') }}
            as {{ feature }}_sd{{ ',' if not loop.last }}
        {%- endfor %}
    from featured

),

standardised as (

    select
        customer_id,
        review_date,
        tenure_band,
        value_tier,
        is_top_tier,
        is_lookalike_candidate,
        {%- for feature in features %}
        case
            when {{ feature }}_sd > 0 then ({{ feature }} - {{ feature }}_mean) / {{ feature }}_sd
            else 0
        end as {{ feature }}_z{{ ',' if not loop.last }}
        {%- endfor %}
    from band_statistics

),

top_tier_centroids as (

    select
        tenure_band,
        count(*) as top_tier_customers,
        {%- for feature in features %}
        {{ exact_mean(feature ~ '_z') }} as {{ feature }}_centroid{{ ',' if not loop.last }}
        {%- endfor %}
    from standardised
    where is_top_tier
    group by tenure_band

),

distances as (

    select
        standardised.*,
        top_tier_centroids.top_tier_customers,
        sqrt(
            {%- for feature in features %}
            power(
                standardised.{{ feature }}_z - top_tier_centroids.{{ feature }}_centroid, 2
            ){{ ' +' if not loop.last }}
            {%- endfor %}
        ) as distance_to_top_tier
    from standardised
    left join top_tier_centroids
        on standardised.tenure_band = top_tier_centroids.tenure_band

),
-- noqa: enable=LT02

scored as (

    select
        *,
        1.0 / (1.0 + distance_to_top_tier) as lookalike_score
    from distances

),

candidates_ranked as (

    select
        customer_id,
        row_number() over (
            partition by tenure_band
            order by lookalike_score desc, customer_id asc
        ) as lookalike_rank,
        count(*) over (partition by tenure_band) as lookalike_candidates
    from scored
    where is_lookalike_candidate
        and lookalike_score is not null

),

final as (

    select
        scored.customer_id,
        scored.review_date,
        scored.tenure_band,
        scored.value_tier,
        scored.is_top_tier,
        scored.is_lookalike_candidate,
        {%- for feature in features %}
        scored.{{ feature }}_z,
        {%- endfor %}
        scored.top_tier_customers,
        scored.distance_to_top_tier,
        scored.lookalike_score,
        candidates_ranked.lookalike_rank,
        candidates_ranked.lookalike_candidates,
        {{ divide('candidates_ranked.lookalike_rank', 'candidates_ranked.lookalike_candidates') }} as lookalike_share
    from scored
    left join candidates_ranked
        on scored.customer_id = candidates_ranked.customer_id

)

select * from final
