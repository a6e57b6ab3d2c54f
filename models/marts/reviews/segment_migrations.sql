-- The value-tier transition matrix between each pair of consecutive reviews of the same
-- type (segment_reviews), one row per later review, presence, from_tier and to_tier:
--   presence both  customers in both reviews, from_tier -> to_tier (the matrix; its
--                  customers sum to the customers present in both reviews);
--   presence new   in the later review only (from_tier null);
--   presence gone  in the earlier review only (to_tier null).
-- revenue is rolling net revenue at the later review (0 for gone customers);
-- previous_revenue the same at the earlier review.
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

earlier as (

    select
        review_pairs.review_type,
        review_pairs.from_review_id,
        review_pairs.from_review_date,
        review_pairs.to_review_id,
        review_pairs.to_review_date,
        history.customer_id,
        history.value_tier,
        history.value_tier_rank,
        history.rolling_net_revenue
    from review_pairs
    inner join history
        on review_pairs.from_review_id = history.review_id

),

later as (

    select
        review_pairs.review_type,
        review_pairs.from_review_id,
        review_pairs.from_review_date,
        review_pairs.to_review_id,
        review_pairs.to_review_date,
        history.customer_id,
        history.value_tier,
        history.value_tier_rank,
        history.rolling_net_revenue
    from review_pairs
    inner join history
        on review_pairs.to_review_id = history.review_id

),

transitions as (

    select
        coalesce(later.review_type, earlier.review_type) as review_type,
        coalesce(later.from_review_id, earlier.from_review_id) as from_review_id,
        coalesce(later.from_review_date, earlier.from_review_date) as from_review_date,
        coalesce(later.to_review_id, earlier.to_review_id) as to_review_id,
        coalesce(later.to_review_date, earlier.to_review_date) as to_review_date,
        case
            when earlier.customer_id is null then 'new'
            when later.customer_id is null then 'gone'
            else 'both'
        end as presence,
        earlier.value_tier as from_tier,
        later.value_tier as to_tier,
        earlier.value_tier_rank as from_tier_rank,
        later.value_tier_rank as to_tier_rank,
        coalesce(later.rolling_net_revenue, 0) as revenue,
        coalesce(earlier.rolling_net_revenue, 0) as previous_revenue
    from earlier
    full outer join later
        on earlier.to_review_id = later.to_review_id
        and earlier.customer_id = later.customer_id

),

final as (

    select
        review_type,
        from_review_id,
        from_review_date,
        to_review_id,
        to_review_date,
        presence,
        from_tier,
        to_tier,
        from_tier_rank,
        to_tier_rank,
        case
            when presence <> 'both' then presence
            when to_tier_rank < from_tier_rank then 'up'
            when to_tier_rank > from_tier_rank then 'down'
            else 'same'
        end as direction,
        count(*) as customers,
        {{ as_money('sum(revenue)') }} as revenue,
        {{ as_money('sum(previous_revenue)') }} as previous_revenue
    from transitions
    group by
        review_type,
        from_review_id,
        from_review_date,
        to_review_id,
        to_review_date,
        presence,
        from_tier,
        to_tier,
        from_tier_rank,
        to_tier_rank

)

select * from final
