with

source as (

    select * from {{ source('clv', 'customer_scores') }}

),

renamed as (

    select
        customer_id,
        review_date,
        time_unit,
        frequency,
        recency_weeks,
        age_weeks,
        mean_repeat_margin,
        is_one_time_buyer,
        p_alive,
        expected_margin_per_purchase,
        clv_note

    from source

)

select * from renamed
