with

source as (

    select * from {{ source('landing', 'acquisition_spend') }}

),

renamed as (

    select
        lower(acquisition_channel) as acquisition_channel,
        spend_month,
        cast(spend_amount as {{ dbt.type_numeric() }}) as spend_amount,
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
