-- For every pair of consecutive reviews of the same type, the transition matrix
-- (segment_migrations, presence both) sums to the customers present in both reviews, and
-- the new / gone counts to those present in only the later / earlier one.
with

migrations as (

    select * from {{ ref('segment_migrations') }}

),

reviews as (

    select * from {{ ref('segment_reviews') }}

),

history as (

    select * from {{ ref('segment_review_history') }}

),

pair_counts as (

    select
        reviews.previous_review_id as from_review_id,
        reviews.review_id as to_review_id,
        sum(case when earlier.customer_id is not null and later.customer_id is not null then 1 else 0 end) as in_both,
        sum(case when earlier.customer_id is null then 1 else 0 end) as new_customers
    from reviews
    inner join history as later
        on reviews.review_id = later.review_id
    left join history as earlier
        on reviews.previous_review_id = earlier.review_id
        and later.customer_id = earlier.customer_id
    where reviews.previous_review_id is not null
    group by
        reviews.previous_review_id,
        reviews.review_id

),

gone_counts as (

    select
        reviews.previous_review_id as from_review_id,
        reviews.review_id as to_review_id,
        count(*) as gone_customers
    from reviews
    inner join history as earlier
        on reviews.previous_review_id = earlier.review_id
    left join history as later
        on reviews.review_id = later.review_id
        and earlier.customer_id = later.customer_id
    where later.customer_id is null
    group by
        reviews.previous_review_id,
        reviews.review_id

),

matrix_counts as (

    select
        from_review_id,
        to_review_id,
        sum(case when presence = 'both' then customers else 0 end) as in_both,
        sum(case when presence = 'new' then customers else 0 end) as new_customers,
        sum(case when presence = 'gone' then customers else 0 end) as gone_customers
    from migrations
    group by
        from_review_id,
        to_review_id

),

final as (

    select
        pair_counts.from_review_id,
        pair_counts.to_review_id,
        pair_counts.in_both,
        matrix_counts.in_both as matrix_in_both,
        pair_counts.new_customers,
        matrix_counts.new_customers as matrix_new_customers,
        coalesce(gone_counts.gone_customers, 0) as gone_customers,
        matrix_counts.gone_customers as matrix_gone_customers
    from pair_counts
    left join matrix_counts
        on pair_counts.from_review_id = matrix_counts.from_review_id
        and pair_counts.to_review_id = matrix_counts.to_review_id
    left join gone_counts
        on pair_counts.from_review_id = gone_counts.from_review_id
        and pair_counts.to_review_id = gone_counts.to_review_id

)

select * from final
where matrix_in_both is null
    or in_both <> matrix_in_both
    or new_customers <> matrix_new_customers
    or gone_customers <> matrix_gone_customers
