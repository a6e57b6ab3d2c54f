-- Everything segmentation needs about a customer, one row per customer with activity
-- (clean and signed up by the review date), as of the review date: tenure and its band,
-- firmographics, the service plan under contract on the review date, lifetime and
-- rolling-window profitability, CLV, purchase recency, support behaviour and product
-- adoption. Only facts dated on or before the review date are used.
--
-- observed_value_score, the customer's own contribution per year so far,
--   (gross margin - customer-driven cost to serve) / max(tenure in years, var
--   segment_value_min_tenure_years). Customer-driven cost to serve is support,
--   escalations, returns and expedited orders; account management and acquisition are
--   left out because they are our decisions, not the customer's behaviour (account
--   management is an entitlement the tier itself grants; acquisition is sunk).
--   int_segment_value_tiers_assigned weights it with a prior into the value_score tiers
--   rank on.
{%- set min_tenure_years = sql_literal(var('segment_value_min_tenure_years', 0.25),
    'number', 'segment_value_min_tenure_years') %}
{%- set clv_horizon = var('segment_clv_horizon_months', 36) | int %}
{%- set rolling_period_type = 'rolling_' ~ (var('rolling_window_months', 12) | int) ~ 'm' %}

with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

customer_profits as (

    select * from {{ ref('int_customer_profits_aggregated') }}

),

clv_predictions as (

    select * from {{ ref('int_customer_clv_predicted') }}

),

rfm_summaries as (

    select * from {{ ref('int_customer_rfm_summarized') }}

),

customers as (

    select * from {{ ref('int_customers_validated') }}

),

service_contracts as (

    select * from {{ ref('int_service_contracts_validated') }}

),

support as (

    select * from {{ ref('int_segment_support_aggregated') }}

),

customer_categories as (

    select * from {{ ref('int_segment_customer_categories_aggregated') }}

),

tenure_bands as (

    select * from {{ ref('tenure_bands') }}

),

size_band_groups as (

    select * from {{ ref('size_band_groups') }}

),

clean_customers as (

    select
        customer_id,
        acquisition_channel,
        industry,
        company_size_band,
        region,
        account_manager_id,
        signup_date
    from customers
    where not is_quarantined

),

-- Amounts rounded to the reporting precision exactly as the profitability marts publish
-- them, so that segments rank on the figures a reader of those marts sees.
lifetime_profitability as (

    select
        customer_profits.customer_id,
        customer_profits.review_date,
        clean_customers.signup_date,
        {{ as_count(dbt.datediff('clean_customers.signup_date', 'customer_profits.review_date', 'day')) }}
            as tenure_days,
        {{ as_money('customer_profits.net_revenue') }} as net_revenue,
        {{ as_money('customer_profits.gross_margin') }} as gross_margin,
        {{ as_money('customer_profits.cost_to_serve') }} as cost_to_serve,
        {{ as_money('customer_profits.cost_to_serve_account_management') }} as cost_to_serve_account_management,
        {{ as_money('customer_profits.acquisition_cost') }} as acquisition_cost,
        {{ as_money('customer_profits.net_profit') }} as net_profit,
        {{ as_count('customer_profits.completed_orders') }} as completed_orders
    from customer_profits
    left join clean_customers
        on customer_profits.customer_id = clean_customers.customer_id
    where customer_profits.period_type = 'lifetime'

),

rolling_profitability as (

    select
        customer_id,
        {{ as_money('net_revenue') }} as net_revenue,
        {{ as_money('gross_margin') }} as gross_margin,
        {{ as_money('cost_to_serve') }} as cost_to_serve,
        {{ as_money('cost_to_serve_account_management') }} as cost_to_serve_account_management,
        {{ as_money('acquisition_cost') }} as acquisition_cost,
        {{ as_money('net_profit') }} as net_profit,
        tickets
    from customer_profits
    where period_type = '{{ rolling_period_type }}'

),

review_rfm as (

    select
        customer_id,
        first_purchase_date,
        last_purchase_date,
        frequency,
        recency_weeks
    from rfm_summaries
    where summary_type = 'review'

),

contracts_on_review_date as (

    select
        service_contracts.customer_id,
        service_contracts.service_plan,
        row_number() over (
            partition by service_contracts.customer_id
            order by
                service_contracts.annual_fee desc,
                service_contracts.start_date desc,
                service_contracts.contract_id asc
        ) as plan_rank
    from service_contracts
    cross join review_parameters
    where not service_contracts.is_quarantined
        and service_contracts.start_date <= review_parameters.review_date
        and (
            service_contracts.end_date is null
            or service_contracts.end_date >= review_parameters.review_date
        )

),

current_plans as (

    select
        customer_id,
        service_plan
    from contracts_on_review_date
    where plan_rank = 1

),

adoption as (

    select
        customer_id,
        count(*) as categories_bought,
        {{ dbt.listagg('product_category', "', '", 'order by product_category') }} as categories_list
    from customer_categories
    group by customer_id

),

joined as (

    select
        lifetime_profitability.customer_id,
        lifetime_profitability.review_date,
        lifetime_profitability.signup_date,
        lifetime_profitability.tenure_days,
        {{ divide('lifetime_profitability.tenure_days * 12', '365.25') }} as tenure_months,
        {{ divide('lifetime_profitability.tenure_days', '365.25') }} as tenure_years,
        clean_customers.acquisition_channel,
        clean_customers.industry,
        clean_customers.company_size_band,
        coalesce(size_band_groups.size_group, 'unknown') as size_group,
        clean_customers.region,
        clean_customers.account_manager_id is not null as has_account_manager,
        clean_customers.account_manager_id,
        coalesce(current_plans.service_plan, 'none') as service_plan,
        lifetime_profitability.net_revenue as lifetime_net_revenue,
        lifetime_profitability.gross_margin as lifetime_gross_margin,
        lifetime_profitability.cost_to_serve as lifetime_cost_to_serve,
        (
            lifetime_profitability.cost_to_serve
            - lifetime_profitability.cost_to_serve_account_management
        ) as lifetime_customer_driven_cost_to_serve,
        lifetime_profitability.acquisition_cost as lifetime_acquisition_cost,
        lifetime_profitability.net_profit as lifetime_net_profit,
        lifetime_profitability.completed_orders as lifetime_completed_orders,
        coalesce(rolling_profitability.net_revenue, 0) as rolling_net_revenue,
        coalesce(rolling_profitability.gross_margin, 0) as rolling_gross_margin,
        coalesce(rolling_profitability.cost_to_serve, 0) as rolling_cost_to_serve,
        (
            coalesce(rolling_profitability.cost_to_serve, 0)
            - coalesce(rolling_profitability.cost_to_serve_account_management, 0)
        ) as rolling_customer_driven_cost_to_serve,
        coalesce(rolling_profitability.net_profit, 0) as rolling_net_profit,
        -- As customer_clv has them (read from its inputs: an intermediate model reads no mart).
        clv_predictions.customer_id is not null as has_completed_purchase,
        coalesce(clv_predictions.is_one_time_buyer, false) as is_one_time_buyer,
        clv_predictions.p_alive,
        coalesce(clv_predictions.predicted_clv_{{ clv_horizon }}m, 0) as predicted_clv,
        {{ as_money('lifetime_profitability.net_profit') }} as historical_clv,
        review_rfm.first_purchase_date,
        review_rfm.last_purchase_date,
        coalesce(review_rfm.frequency, 0) as repeat_purchases,
        case
            when review_rfm.frequency > 0 then {{ divide(
                dbt.datediff('review_rfm.first_purchase_date', 'review_rfm.last_purchase_date', 'day'),
                'review_rfm.frequency',
            ) }}
        end as usual_purchase_gap_days,
        coalesce(support.tickets_to_date, 0) as tickets_to_date,
        coalesce(support.preferred_support_channel, 'no_tickets') as preferred_support_channel,
        support.preferred_channel_share,
        coalesce(support.rolling_tickets, 0) as rolling_tickets,
        coalesce(support.rolling_csat_responses, 0) as rolling_csat_responses,
        support.rolling_mean_csat,
        coalesce(support.rolling_first_responses, 0) as rolling_first_responses,
        support.rolling_mean_first_response_hours,
        coalesce(adoption.categories_bought, 0) as categories_bought,
        adoption.categories_list
    from lifetime_profitability
    left join clean_customers
        on lifetime_profitability.customer_id = clean_customers.customer_id
    left join size_band_groups
        on clean_customers.company_size_band = size_band_groups.company_size_band
    left join current_plans
        on lifetime_profitability.customer_id = current_plans.customer_id
    left join rolling_profitability
        on lifetime_profitability.customer_id = rolling_profitability.customer_id
    left join clv_predictions
        on lifetime_profitability.customer_id = clv_predictions.customer_id
    left join review_rfm
        on lifetime_profitability.customer_id = review_rfm.customer_id
    left join support
        on lifetime_profitability.customer_id = support.customer_id
    left join adoption
        on lifetime_profitability.customer_id = adoption.customer_id

),

banded as (

    select
        joined.*,
        tenure_bands.tenure_band,
        tenure_bands.band_order as tenure_band_order,
        tenure_bands.lifecycle_stage as tenure_lifecycle_stage
    from joined
    left join tenure_bands
        on joined.tenure_months >= tenure_bands.min_tenure_months
        and (
            tenure_bands.max_tenure_months is null
            or joined.tenure_months < tenure_bands.max_tenure_months
        )

),

scored as (

    select
        *,
        {{ dbt.datediff('last_purchase_date', 'review_date', 'day') }}
            as days_since_last_purchase,
        lifetime_gross_margin - lifetime_customer_driven_cost_to_serve as lifetime_contribution,
        case
            when tenure_years > {{ min_tenure_years }} then tenure_years
            else {{ min_tenure_years }}
        end as value_score_years
    from banded

),

final as (

    select
        scored.*,
        {{ divide('lifetime_contribution', 'value_score_years') }} as observed_value_score
    from scored

)

select * from final
