-- The maximum-likelihood BG/NBD and Gamma-Gamma fits of the CLV step, one row per model and
-- fit period: review (scores the customers) and calibration (checked on the holdout).

with

model_fits as (

    select * from {{ ref('stg_clv__model_fits') }}

),

final as (

    select * from model_fits

)

select * from final
