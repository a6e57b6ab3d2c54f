with

source as (

    select * from {{ source('clv', 'model_fits') }}

),

renamed as (

    select
        model_name,
        fit_period,
        review_date,
        fitted_through_date,
        time_unit,
        customers_used,
        customers_excluded,
        exclusion_reason,
        converged,
        message,
        log_likelihood,
        r,
        alpha,
        a,
        b,
        p,
        q,
        gamma,
        frequency_value_correlation

    from source

)

select * from renamed
