-- Lifetime order revenue and COGS in customer_lifetime_profitability equal the clean
-- completed order lines ordered up to the review date, computed here from the validated
-- models (not from int_order_lines_priced): a clean validated line carries its (clean) order's
-- status and date and its product's unit cost. Returns a row when either differs by more than
-- rounding: a cent or 1e-9 of the total, whichever is larger (macro amounts_differ).
with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

order_lines as (

    select * from {{ ref('int_order_lines_validated') }}

),

lifetime as (

    select * from {{ ref('customer_lifetime_profitability') }}

),

source_totals as (

    select
        coalesce(sum(order_lines.quantity * order_lines.unit_price - order_lines.discount_amount), 0) as order_revenue,
        coalesce(sum(order_lines.quantity * order_lines.unit_cost), 0) as cogs
    from order_lines
    cross join review_parameters
    where not order_lines.is_quarantined
        and order_lines.order_status = 'completed'
        and order_lines.ordered_date <= review_parameters.review_date

),

mart_totals as (

    select
        coalesce(sum(order_revenue), 0) as order_revenue,
        coalesce(sum(cogs), 0) as cogs
    from lifetime

),

final as (

    select
        source_totals.order_revenue as source_order_revenue,
        mart_totals.order_revenue as mart_order_revenue,
        source_totals.cogs as source_cogs,
        mart_totals.cogs as mart_cogs
    from source_totals
    cross join mart_totals
    where {{ amounts_differ('source_totals.order_revenue', 'mart_totals.order_revenue') }}
        or {{ amounts_differ('source_totals.cogs', 'mart_totals.cogs') }}

)

select * from final
