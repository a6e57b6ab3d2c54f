-- The valuable customers customer_entitlement_gaps lists as routed to self-service or
-- below the CSAT threshold are exactly the under-served valuable customers
-- segment_economics counts (over the value-tier family, which partitions the customers).
with

economics as (

    select * from {{ ref('segment_economics') }}

),

gaps as (

    select * from {{ ref('customer_entitlement_gaps') }}

),

counted as (

    select coalesce(sum(under_served_valuable_customers), 0) as under_served_customers
    from economics
    where segment_family = 'value_tier'

),

listed as (

    select count(distinct customer_id) as under_served_customers
    from gaps
    where gap_type in ('valuable_routed_to_self_service', 'csat_below_threshold')

)

select
    counted.under_served_customers as counted_by_economics,
    listed.under_served_customers as listed_as_gaps
from counted
cross join listed
where counted.under_served_customers <> listed.under_served_customers
