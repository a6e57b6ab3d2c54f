-- BG/NBD fitted on the calibration period, checked on the holdout weeks that follow
-- (the CLV step's clv.holdout_validation).

with

holdout_validation as (

    select * from {{ ref('stg_clv__holdout_validation') }}

),

final as (

    select * from holdout_validation

)

select * from final
