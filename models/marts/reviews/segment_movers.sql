-- Every customer present in two consecutive reviews of the same type (segment_reviews),
-- one row per later review and customer: the value tier at each review, the direction of
-- the move (up = a better tier, i.e. a lower tier_rank; down; same) and why, with the
-- change in rolling net profit, predicted CLV and value score, and the other segments
-- that changed. Customers in only one of the two reviews are counted in
-- segment_migrations (presence new / gone).
{%- set money_text = "cast(cast(" ~ round_number("%s", 0) ~ " as " ~ dbt.type_bigint() ~ ")"
    ~ " as " ~ dbt.type_string() ~ ")" %}

with

reviews as (

    select * from {{ ref('segment_reviews') }}

),

history as (

    select * from {{ ref('segment_review_history') }}

),

review_pairs as (

    select
        review_type,
        previous_review_id as from_review_id,
        previous_review_date as from_review_date,
        review_id as to_review_id,
        review_date as to_review_date
    from reviews
    where previous_review_id is not null

),

paired as (

    select
        review_pairs.review_type,
        review_pairs.from_review_id,
        review_pairs.from_review_date,
        review_pairs.to_review_id,
        review_pairs.to_review_date,
        later.customer_id,
        earlier.value_tier as from_tier,
        later.value_tier as to_tier,
        earlier.value_tier_rank as from_tier_rank,
        later.value_tier_rank as to_tier_rank,
        earlier.lifecycle_stage as from_lifecycle_stage,
        later.lifecycle_stage as to_lifecycle_stage,
        earlier.churn_risk as from_churn_risk,
        later.churn_risk as to_churn_risk,
        earlier.effective_service_level as from_service_level,
        later.effective_service_level as to_service_level,
        earlier.routing_queue as from_routing_queue,
        later.routing_queue as to_routing_queue,
        earlier.rolling_net_revenue as from_rolling_net_revenue,
        later.rolling_net_revenue as to_rolling_net_revenue,
        earlier.rolling_net_profit as from_rolling_net_profit,
        later.rolling_net_profit as to_rolling_net_profit,
        earlier.predicted_clv as from_predicted_clv,
        later.predicted_clv as to_predicted_clv,
        earlier.value_score as from_value_score,
        later.value_score as to_value_score
    from review_pairs
    inner join history as earlier
        on review_pairs.from_review_id = earlier.review_id
    inner join history as later
        on review_pairs.to_review_id = later.review_id
        and earlier.customer_id = later.customer_id

),

compared as (

    select
        paired.*,
        case
            when paired.to_tier_rank < paired.from_tier_rank then 'up'
            when paired.to_tier_rank > paired.from_tier_rank then 'down'
            else 'same'
        end as direction,
        coalesce(paired.to_rolling_net_profit, 0)
        - coalesce(paired.from_rolling_net_profit, 0) as rolling_net_profit_change,
        coalesce(paired.to_predicted_clv, 0) - coalesce(paired.from_predicted_clv, 0) as predicted_clv_change,
        coalesce(paired.to_value_score, 0) - coalesce(paired.from_value_score, 0) as value_score_change
    from paired

),

final as (

    select
        review_type,
        from_review_id,
        from_review_date,
        to_review_id,
        to_review_date,
        customer_id,
        from_tier,
        to_tier,
        from_tier_rank,
        to_tier_rank,
        direction,
        {{ as_money('rolling_net_profit_change') }} as rolling_net_profit_change,
        {{ as_money('predicted_clv_change') }} as predicted_clv_change,
        value_score_change,
        {{ as_money('from_rolling_net_profit') }} as from_rolling_net_profit,
        {{ as_money('to_rolling_net_profit') }} as to_rolling_net_profit,
        {{ as_money('from_predicted_clv') }} as from_predicted_clv,
        {{ as_money('to_predicted_clv') }} as to_predicted_clv,
        from_value_score,
        to_value_score,
        {{ as_money('to_rolling_net_revenue') }} as to_rolling_net_revenue,
        from_lifecycle_stage,
        to_lifecycle_stage,
        from_churn_risk,
        to_churn_risk,
        from_service_level,
        to_service_level,
        from_routing_queue,
        to_routing_queue,
        {{ dbt.concat([
            "from_tier", "' -> '", "to_tier",
            "'; rolling net profit '",
            "case when rolling_net_profit_change >= 0 then '+' else '' end",
            money_text | format("rolling_net_profit_change"),
            "' ('", money_text | format("coalesce(from_rolling_net_profit, 0)"),
            "' -> '", money_text | format("coalesce(to_rolling_net_profit, 0)"), "')'",
            "'; predicted CLV '",
            "case when predicted_clv_change >= 0 then '+' else '' end",
            money_text | format("predicted_clv_change"),
            "' ('", money_text | format("coalesce(from_predicted_clv, 0)"),
            "' -> '", money_text | format("coalesce(to_predicted_clv, 0)"), "')'",
            "'; value score '",
            "case when value_score_change >= 0 then '+' else '' end",
            money_text | format("value_score_change"), "'/year'",
            "case when from_lifecycle_stage <> to_lifecycle_stage then "
            ~ dbt.concat(["'; lifecycle '", "from_lifecycle_stage", "' -> '", "to_lifecycle_stage"]) ~ " else '' end",
            "case when from_churn_risk <> to_churn_risk then "
            ~ dbt.concat(["'; churn risk '", "from_churn_risk", "' -> '", "to_churn_risk"]) ~ " else '' end",
            "case when from_service_level <> to_service_level then "
            ~ dbt.concat(["'; service level '", "from_service_level", "' -> '", "to_service_level"]) ~ " else '' end",
        ]) }} as reason
    from compared

)

select * from final
