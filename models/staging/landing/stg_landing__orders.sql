with

source as (

    select * from {{ source('landing', 'orders') }}

),

renamed as (

    select
        order_id,
        customer_id,
        ordered_at,
        cast(ordered_at as date) as ordered_date,
        lower(status) as order_status,
        lower(sales_channel) as sales_channel,
        coalesce(is_expedited, false) as is_expedited,
        upper(
            coalesce(currency, {{ sql_literal(var('reporting_currency'), 'currency', 'reporting_currency') }})
        ) as currency,
        _load_id,
        _source_file,
        _source_line_number,
        _loaded_at

    from source

)

select * from renamed
