-- The review this build made, one row per customer: segment_review_history restricted to
-- the current review. The semantic layer's default metrics read this model, so a metric
-- queried without a review dimension counts every customer once (the history holds every
-- review, and summing it double-counts).
with

review as (

    select * from {{ ref('int_review_identified') }}

),

history as (

    select * from {{ ref('segment_review_history') }}

),

final as (

    select history.*
    from history
    inner join review
        on history.review_id = review.review_id

)

select * from final
