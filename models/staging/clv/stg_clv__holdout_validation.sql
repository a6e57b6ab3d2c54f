with

source as (

    select * from {{ source('clv', 'holdout_validation') }}

),

renamed as (

    select
        calibration_end_date,
        review_date,
        holdout_weeks,
        level,
        bucket,
        customers,
        actual_mean,
        predicted_mean,
        naive_mean,
        actual_total,
        predicted_total,
        naive_total,
        mae_model,
        mae_naive,
        calibration_converged

    from source

)

select * from renamed
