with

source as (

    select * from {{ source('clv', 'customer_horizon_scores') }}

),

renamed as (

    select
        customer_id,
        review_date,
        horizon_months,
        expected_purchases,
        predicted_clv

    from source

)

select * from renamed
