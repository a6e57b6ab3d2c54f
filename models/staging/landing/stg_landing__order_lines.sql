with

source as (

    select * from {{ source('landing', 'order_lines') }}

),

renamed as (

    select
        order_line_id,
        order_id,
        product_id,
        quantity,
        cast(unit_price as {{ dbt.type_numeric() }}) as unit_price,
        cast(coalesce(discount_amount, 0) as {{ dbt.type_numeric() }}) as discount_amount,
        cast(quantity * unit_price as {{ dbt.type_numeric() }}) as gross_amount,
        _load_id,
        _source_file,
        _source_line_number,
        _loaded_at

    from source

)

select * from renamed
