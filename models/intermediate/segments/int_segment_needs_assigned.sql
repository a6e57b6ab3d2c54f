-- Needs and behaviour segments per customer with activity, as of the review date: one
-- segment per family (a customer is in one segment of every family, so in several
-- segments at once), each with a score and a reason. Thresholds are vars
-- (dbt_project.yml) and seeds (tenure_bands, size_band_groups).
--   lifecycle_stage   onboarding (tenure band's stage), else lapsed (no purchase for var
--                     segment_lapsed_after_days), else at_risk (churn_risk high), else the
--                     tenure band's stage (growing, mature)
--   churn_risk        low / medium / high. Repeat buyers: P(alive) and days since the last
--                     purchase against their usual gap. One-time buyers (BG/NBD gives them
--                     P(alive) = 1, which is no evidence of loyalty) and customers without
--                     a purchase are never low: medium, high after
--                     var segment_churn_one_time_high_after_days without a purchase
--   support_channel   the channel of most tickets to date, or no_tickets
--   support_intensity customer-driven cost to serve / gross margin in the rolling window:
--                     none (no such cost), low, medium, high (also: cost without margin)
--   product_adoption  no_purchase, single_category, multi_category, broad
--   firmographic_group  industry x size group (seed size_band_groups); null for everyone when
--                     no customer of the review has an industry or a size band (consumer
--                     data, docs/data_contract.md): the family is omitted, not filled with
--                     'unknown'
--   service_plan      the plan under contract on the review date, or none
{%- set high_p_alive = sql_literal(var('segment_churn_high_p_alive_below', 0.5),
    'number', 'segment_churn_high_p_alive_below') %}
{%- set medium_p_alive = sql_literal(var('segment_churn_medium_p_alive_below', 0.8),
    'number', 'segment_churn_medium_p_alive_below') %}
{%- set medium_gap_multiple = sql_literal(var('segment_churn_overdue_medium_gap_multiple', 2),
    'number', 'segment_churn_overdue_medium_gap_multiple') %}
{%- set high_gap_multiple = sql_literal(var('segment_churn_overdue_high_gap_multiple', 4),
    'number', 'segment_churn_overdue_high_gap_multiple') %}
{%- set one_time_high_days = sql_literal(var('segment_churn_one_time_high_after_days', 90),
    'number', 'segment_churn_one_time_high_after_days') %}
{%- set lapsed_days = sql_literal(var('segment_lapsed_after_days', 365), 'number', 'segment_lapsed_after_days') %}
{%- set intensity_medium = sql_literal(var('segment_support_intensity_medium_ratio', 0.10),
    'number', 'segment_support_intensity_medium_ratio') %}
{%- set intensity_high = sql_literal(var('segment_support_intensity_high_ratio', 0.30),
    'number', 'segment_support_intensity_high_ratio') %}
{%- set multi_categories = sql_literal(var('segment_adoption_multi_min_categories', 2),
    'number', 'segment_adoption_multi_min_categories') %}
{%- set broad_categories = sql_literal(var('segment_adoption_broad_min_categories', 4),
    'number', 'segment_adoption_broad_min_categories') %}
{%- set string_type = dbt.type_string() %}
{%- set bigint_type = dbt.type_bigint() %}

with

profiles as (

    select * from {{ ref('int_segment_customers_profiled') }}

),

measured as (

    select
        *,
        coalesce(days_since_last_purchase, tenure_days) as days_without_purchase,
        (
            max(case when industry is not null or company_size_band is not null then 1 else 0 end)
                over (partition by review_date)
            = 1
        ) as review_has_firmographics,
        case
            when rolling_gross_margin > 0
                then {{ divide('rolling_customer_driven_cost_to_serve', 'rolling_gross_margin') }}
        end as support_cost_ratio
    from profiles

),

churn_scored as (

    select
        *,
        case
            when last_purchase_date is null or is_one_time_buyer
                then case
                        when days_without_purchase > {{ one_time_high_days }} then 'high'
                        else 'medium'
                    end
            when p_alive < {{ high_p_alive }}
                or days_since_last_purchase > {{ high_gap_multiple }} * usual_purchase_gap_days
                then 'high'
            when p_alive < {{ medium_p_alive }}
                or days_since_last_purchase > {{ medium_gap_multiple }} * usual_purchase_gap_days
                then 'medium'
            else 'low'
        end as churn_risk
    from measured

),

segmented as (

    select
        *,
        case
            when tenure_lifecycle_stage = 'onboarding' then 'onboarding'
            when days_without_purchase > {{ lapsed_days }} then 'lapsed'
            when churn_risk = 'high' then 'at_risk'
            else tenure_lifecycle_stage
        end as lifecycle_stage,
        preferred_support_channel as support_channel,
        case
            when rolling_customer_driven_cost_to_serve <= 0 then 'none'
            when support_cost_ratio is null then 'high'
            when support_cost_ratio >= {{ intensity_high }} then 'high'
            when support_cost_ratio >= {{ intensity_medium }} then 'medium'
            else 'low'
        end as support_intensity,
        case
            when categories_bought = 0 then 'no_purchase'
            when categories_bought >= {{ broad_categories }} then 'broad'
            when categories_bought >= {{ multi_categories }} then 'multi_category'
            else 'single_category'
        end as product_adoption,
        case
            when review_has_firmographics
                then {{ dbt.concat(["coalesce(industry, 'unknown')", "'__'", "size_group"]) }}
        end as firmographic_group
    from churn_scored

),

formatted as (

    select
        *,
        cast(cast({{ round_number('tenure_months', 1) }} as numeric(18, 1)) as {{ string_type }}) as tenure_months_text,
        cast(days_without_purchase as {{ string_type }}) as days_without_purchase_text,
        cast(cast({{ round_number('p_alive', 3) }} as numeric(18, 3)) as {{ string_type }}) as p_alive_text,
        cast(cast({{ round_number('usual_purchase_gap_days', 0) }} as {{ bigint_type }}) as {{ string_type }})
            as gap_text,
        cast(tickets_to_date as {{ string_type }}) as tickets_text,
        cast(cast({{ round_number('100 * preferred_channel_share', 0) }} as {{ bigint_type }}) as {{ string_type }})
            as channel_share_text,
        cast(
            cast(
                {{ round_number('rolling_customer_driven_cost_to_serve', 0) }} as {{ bigint_type }}
            ) as {{ string_type }}
        ) as rolling_cost_text,
        cast(cast({{ round_number('rolling_gross_margin', 0) }} as {{ bigint_type }}) as {{ string_type }})
            as rolling_margin_text,
        cast(cast({{ round_number('100 * support_cost_ratio', 1) }} as numeric(18, 1)) as {{ string_type }})
            as support_ratio_text,
        cast(categories_bought as {{ string_type }}) as categories_text
    from segmented

),

final as (

    select
        customer_id,
        review_date,
        lifecycle_stage,
        tenure_months as lifecycle_stage_score,
        case
            when lifecycle_stage = 'onboarding'
                then {{ dbt.concat([
                    "'signed up '", "tenure_months_text", "' months ago (tenure band '", "tenure_band", "')'"
                ]) }}
            when lifecycle_stage = 'lapsed'
                then {{ dbt.concat([
                    "'no purchase for '", "days_without_purchase_text", "' days (lapsed after " ~ lapsed_days ~ ")'"
                ]) }}
            when lifecycle_stage = 'at_risk'
                then {{ dbt.concat(["'churn risk high; tenure '", "tenure_months_text", "' months'"]) }}
            else {{ dbt.concat(["'tenure '", "tenure_months_text", "' months (tenure band '", "tenure_band", "')'"]) }}
        end as lifecycle_stage_reason,
        churn_risk,
        case
            when last_purchase_date is not null and not is_one_time_buyer then 1 - p_alive
        end as churn_risk_score,
        case
            when last_purchase_date is null
                then {{ dbt.concat([
                    "'no completed purchase in '", "days_without_purchase_text",
                    "' days since signup (high after " ~ one_time_high_days ~ ")'"
                ]) }}
            when is_one_time_buyer
                then {{ dbt.concat([
                    "'one-time buyer: P(alive) = 1 by construction is not loyalty; '", "days_without_purchase_text",
                    "' days since the only purchase (high after " ~ one_time_high_days ~ ")'"
                ]) }}
            else {{ dbt.concat([
                "'P(alive) '", "p_alive_text", "'; '", "days_without_purchase_text",
                "' days since the last purchase, usual gap '", "gap_text", "' days'"
            ]) }}
        end as churn_risk_reason,
        support_channel,
        preferred_channel_share as support_channel_score,
        case
            when support_channel = 'no_tickets' then 'no support tickets to date'
            else {{ dbt.concat([
                "channel_share_text", "'% of '", "tickets_text", "' tickets to date in '", "support_channel"
            ]) }}
        end as support_channel_reason,
        support_intensity,
        support_cost_ratio as support_intensity_score,
        case
            when support_intensity = 'none' then 'no customer-driven cost to serve in the rolling window'
            when support_cost_ratio is null
                then {{ dbt.concat([
                    "'customer-driven cost to serve '", "rolling_cost_text", "' with gross margin '",
                    "rolling_margin_text", "' in the rolling window'"
                ]) }}
            else {{ dbt.concat([
                "'customer-driven cost to serve '", "rolling_cost_text", "' = '", "support_ratio_text",
                "'% of gross margin '", "rolling_margin_text", "' in the rolling window'"
            ]) }}
        end as support_intensity_reason,
        product_adoption,
        categories_bought as product_adoption_score,
        case
            when categories_bought = 0 then 'no completed purchase'
            else {{ dbt.concat(["categories_text", "' categories bought: '", "categories_list"]) }}
        end as product_adoption_reason,
        firmographic_group,
        case
            when firmographic_group is not null
                then {{ dbt.concat([
                    "'industry '", "coalesce(industry, 'unknown')",
                    "', size band '", "coalesce(company_size_band, 'unknown')",
                    "' ('", "size_group", "')'",
                ]) }}
        end as firmographic_group_reason,
        service_plan,
        case
            when service_plan = 'none' then 'no service contract on the review date'
            else {{ dbt.concat(["'service contract '", "service_plan", "' active on the review date'"]) }}
        end as service_plan_reason
    from formatted

)

select * from final
