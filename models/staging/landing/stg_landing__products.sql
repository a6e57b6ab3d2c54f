with

source as (

    select * from {{ source('landing', 'products') }}

),

renamed as (

    select
        product_id,
        product_name,
        lower(category) as product_category,
        cast(list_price as {{ dbt.type_numeric() }}) as list_price,
        cast(unit_cost as {{ dbt.type_numeric() }}) as unit_cost,
        _load_id,
        _source_file,
        _source_line_number,
        _loaded_at

    from source

)

select * from renamed
