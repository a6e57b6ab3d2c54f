-- Acquisition spend is conserved: for every channel-month of clean spend up to the review
-- date that has clean customers, the channel shares of those customers add up to the
-- spend; allocated plus unallocated spend equals all such spend; and the acquisition cost
-- in customer_lifetime_profitability equals the per-customer acquisition costs.
-- Tolerance, not exact: the totals (~1.2e8 at 1M customers) are double-precision sums whose
-- last digits depend on summation order, so amounts_differ allows a cent or 1e-9 of the
-- total, whichever is larger.
with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

spend as (

    select * from {{ ref('int_acquisition_spend_validated') }}

),

spend_allocations as (

    select * from {{ ref('int_acquisition_spend_allocated') }}

),

acquisition_costs as (

    select * from {{ ref('int_acquisition_costs_allocated') }}

),

lifetime as (

    select * from {{ ref('customer_lifetime_profitability') }}

),

clean_spend as (

    select
        spend.acquisition_channel,
        spend.spend_month,
        spend.spend_amount
    from spend
    cross join review_parameters
    where not spend.is_quarantined
        and spend.spend_month <= review_parameters.review_date

),

customer_shares as (

    select
        acquisition_channel,
        signup_month,
        sum(channel_spend_share) as shared_spend
    from acquisition_costs
    where channel_spend_share is not null
    group by
        acquisition_channel,
        signup_month

),

month_checks as (

    select
        'channel_month' as check_name,
        {{ dbt.concat([
            "clean_spend.acquisition_channel",
            "'|'",
            dbt.safe_cast("clean_spend.spend_month", api.Column.translate_type("string"))
        ]) }} as check_key,
        clean_spend.spend_amount as expected,
        customer_shares.shared_spend as actual
    from clean_spend
    inner join customer_shares
        on clean_spend.acquisition_channel = customer_shares.acquisition_channel
        and clean_spend.spend_month = customer_shares.signup_month

),

total_checks as (

    select
        'allocated_plus_unallocated' as check_name,
        'all' as check_key,
        (select coalesce(sum(clean_spend.spend_amount), 0) from clean_spend) as expected,
        coalesce(sum(allocated_spend + unallocated_spend), 0) as actual
    from spend_allocations

    union all

    select
        'customer_shares' as check_name,
        'all' as check_key,
        (select coalesce(sum(allocated_spend), 0) from spend_allocations) as expected,
        (select coalesce(sum(shared_spend), 0) from customer_shares) as actual

    union all

    select
        'lifetime_acquisition_cost' as check_name,
        'all' as check_key,
        (select coalesce(sum(acquisition_costs.acquisition_cost), 0) from acquisition_costs) as expected,
        coalesce(sum(acquisition_cost), 0) as actual
    from lifetime

),

final as (

    select * from month_checks
    where {{ amounts_differ('expected', 'actual') }}
    union all
    select * from total_checks
    where {{ amounts_differ('expected', 'actual') }}

)

select * from final
