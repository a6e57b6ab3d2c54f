-- The valuable customers customer_entitlement_gaps lists as routed to self-service or
-- below the CSAT threshold are exactly the under-served valuable customers
-- segment_economics counts, and those it lists as first_response_above_sla are exactly its
-- customers_above_first_response_sla (over the value-tier family, which partitions the
-- customers).
with

economics as (

    select * from {{ ref('segment_economics') }}

),

gaps as (

    select * from {{ ref('customer_entitlement_gaps') }}

),

counted as (

    select
        coalesce(sum(under_served_valuable_customers), 0) as under_served_customers,
        coalesce(sum(customers_above_first_response_sla), 0) as slow_first_response_customers
    from economics
    where segment_family = 'value_tier'

),

listed as (

    select
        count(distinct case
            when gap_type in ('valuable_routed_to_self_service', 'csat_below_threshold') then customer_id
        end) as under_served_customers,
        count(distinct case
            when gap_type = 'first_response_above_sla' then customer_id
        end) as slow_first_response_customers
    from gaps

)

select
    counted.under_served_customers as counted_by_economics,
    listed.under_served_customers as listed_as_gaps,
    counted.slow_first_response_customers as slow_first_response_counted_by_economics,
    listed.slow_first_response_customers as slow_first_response_listed_as_gaps
from counted
cross join listed
where counted.under_served_customers <> listed.under_served_customers
    or counted.slow_first_response_customers <> listed.slow_first_response_customers
