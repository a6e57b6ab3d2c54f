with

source as (

    select * from {{ source('landing', 'service_contracts') }}

),

renamed as (

    select
        contract_id,
        customer_id,
        lower(plan) as service_plan,
        start_date,
        end_date,
        cast(annual_fee as {{ dbt.type_numeric() }}) as annual_fee,
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
