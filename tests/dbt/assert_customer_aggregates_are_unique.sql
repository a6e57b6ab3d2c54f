-- The compact incremental aggregates hold one row per key: an incremental run that
-- inserted a customer's rows without deleting the old ones would show here.
with

order_days as (

    select * from {{ ref('int_customer_order_days_aggregated') }}

),

category_days as (

    select * from {{ ref('int_customer_category_days_aggregated') }}

),

order_day_keys as (

    select
        'int_customer_order_days_aggregated' as model_name,
        customer_id,
        ordered_date,
        cast(null as {{ dbt.type_string() }}) as product_category,
        count(*) as rows_with_key
    from order_days
    group by
        customer_id,
        ordered_date
    having count(*) > 1

),

category_day_keys as (

    select
        'int_customer_category_days_aggregated' as model_name,
        customer_id,
        ordered_date,
        product_category,
        count(*) as rows_with_key
    from category_days
    group by
        customer_id,
        ordered_date,
        product_category
    having count(*) > 1

),

final as (

    select * from order_day_keys
    union all
    select * from category_day_keys

)

select * from final
