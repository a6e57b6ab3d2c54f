-- segment_movers and the segment_migrations matrix (presence both) count the same
-- customers per review pair, from_tier and to_tier.
with

movers as (

    select
        to_review_id,
        from_tier,
        to_tier,
        count(*) as customers
    from {{ ref('segment_movers') }}
    group by
        to_review_id,
        from_tier,
        to_tier

),

matrix as (

    select
        to_review_id,
        from_tier,
        to_tier,
        customers
    from {{ ref('segment_migrations') }}
    where presence = 'both'

)

select
    coalesce(movers.to_review_id, matrix.to_review_id) as to_review_id,
    coalesce(movers.from_tier, matrix.from_tier) as from_tier,
    coalesce(movers.to_tier, matrix.to_tier) as to_tier,
    movers.customers as mover_customers,
    matrix.customers as matrix_customers
from movers
full outer join matrix
    on movers.to_review_id = matrix.to_review_id
    and movers.from_tier = matrix.from_tier
    and movers.to_tier = matrix.to_tier
where movers.customers is null
    or matrix.customers is null
    or movers.customers <> matrix.customers
