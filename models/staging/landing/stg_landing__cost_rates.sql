with

source as (

    select * from {{ source('landing', 'cost_rates') }}

),

renamed as (

    select
        lower(activity) as activity,
        lower(channel) as support_channel,
        valid_from,
        valid_to,
        cast(rate as {{ dbt.type_numeric() }}) as rate,
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
