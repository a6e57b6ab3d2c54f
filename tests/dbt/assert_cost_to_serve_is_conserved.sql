-- Cost to serve in customer_lifetime_profitability, per activity and in total, equals the
-- sum of the costed activities (int_cost_to_serve_activities_costed). Returns a row per
-- activity whose totals differ by more than rounding. Tolerance, not exact: the totals are
-- double-precision sums whose last digits depend on summation order, so amounts_differ
-- allows a cent or 1e-9 of the total, whichever is larger (0.12 at the ~1.2e8 of 1M customers).
with

activities as (

    select * from {{ ref('int_cost_to_serve_activities_costed') }}

),

lifetime as (

    select * from {{ ref('customer_lifetime_profitability') }}

),

activity_totals as (

    select
        activity,
        sum(cost) as activity_cost
    from activities
    group by activity

    union all

    select
        'total' as activity,
        sum(cost) as activity_cost
    from activities

),

mart_totals as (

    select
        'support_minutes' as activity,
        sum(cost_to_serve_support) as mart_cost
    from lifetime
    union all
    select
        'escalation' as activity,
        sum(cost_to_serve_escalations) as mart_cost
    from lifetime
    union all
    select
        'return' as activity,
        sum(cost_to_serve_returns) as mart_cost
    from lifetime
    union all
    select
        'expedited_order' as activity,
        sum(cost_to_serve_expedited) as mart_cost
    from lifetime
    union all
    select
        'account_management' as activity,
        sum(cost_to_serve_account_management) as mart_cost
    from lifetime
    union all
    select
        'total' as activity,
        sum(cost_to_serve) as mart_cost
    from lifetime

),

final as (

    select
        mart_totals.activity,
        coalesce(activity_totals.activity_cost, 0) as activity_cost,
        coalesce(mart_totals.mart_cost, 0) as mart_cost
    from mart_totals
    left join activity_totals
        on mart_totals.activity = activity_totals.activity
    where {{ amounts_differ('coalesce(activity_totals.activity_cost, 0)', 'coalesce(mart_totals.mart_cost, 0)') }}

)

select * from final
