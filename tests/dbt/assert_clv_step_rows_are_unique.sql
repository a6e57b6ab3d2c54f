-- The CLV step wrote one fit per model and period, and one score per customer and horizon.
with

model_fits as (

    select * from {{ ref('stg_clv__model_fits') }}

),

horizon_scores as (

    select * from {{ ref('stg_clv__customer_horizon_scores') }}

),

duplicate_fits as (

    select
        'model_fits' as relation_name,
        model_name || ':' || fit_period as row_key
    from model_fits
    group by model_name, fit_period
    having count(*) > 1

),

duplicate_scores as (

    select
        'customer_horizon_scores' as relation_name,
        customer_id || ':' || cast(horizon_months as {{ dbt.type_string() }}) as row_key
    from horizon_scores
    group by customer_id, horizon_months
    having count(*) > 1

),

final as (

    select * from duplicate_fits
    union all
    select * from duplicate_scores

)

select * from final
