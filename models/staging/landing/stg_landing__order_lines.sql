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
        -- Null when the product would overflow the numeric type (quantity and price are each
        -- valid, their product may not be); quarantine reports it as amount_out_of_range
        -- instead of one row failing the whole build.
        case
            when abs(quantity) < 1000000000 and abs(unit_price) < 1000000000000
                then cast(quantity * unit_price as {{ dbt.type_numeric() }})
        end as gross_amount,
        _load_id,
        _source_file,
        _source_line_number,
        _loaded_at

    from source

)

select * from renamed
