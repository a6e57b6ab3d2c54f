-- Each customer's service-contract revenue in the rolling window ending on the review date
-- (var rolling_window_months), one row per customer with contract revenue in the window:
-- the sum of int_service_contract_revenues_allocated's rolling-period rows, summed exactly.
-- The one place this sum is made: segment_economics (contract revenue per segment) and
-- customer_review_current (the semantic layer's attach-rate inputs) both read it.
with

contract_revenues as (

    select * from {{ ref('int_service_contract_revenues_allocated') }}

),

rolling_contract_revenues as (

    select
        customer_id,
        contract_revenue
    from contract_revenues
    where period_type like 'rolling%'

),

final as (

    select
        customer_id,
        {{ exact_sum('contract_revenue') }} as rolling_contract_revenue
    from rolling_contract_revenues
    group by customer_id

)

select * from final
