with

source as (

    select * from {{ source('landing', 'customers') }}

),

renamed as (

    select
        customer_id,
        customer_name,
        email,
        signup_date,
        lower(industry) as industry,
        company_size_band,
        upper(country) as country,
        lower(region) as region,
        lower(acquisition_channel) as acquisition_channel,
        lower(service_plan) as service_plan,
        account_manager_id,
        cast(acquisition_cost as {{ dbt.type_numeric() }}) as given_acquisition_cost,
        _load_id,
        _source_file,
        _source_line_number,
        _loaded_at

    from source

)

select * from renamed
