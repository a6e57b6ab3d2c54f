with

source as (

    select * from {{ source('landing', 'support_tickets') }}

),

renamed as (

    select
        ticket_id,
        customer_id,
        opened_at,
        cast(opened_at as date) as opened_date,
        closed_at,
        first_response_at,
        lower(channel) as support_channel,
        lower(category) as ticket_category,
        lower(priority) as priority,
        cast(handle_minutes as {{ dbt.type_numeric() }}) as handle_minutes,
        is_escalated,
        csat_score,
        _load_id,
        _source_file,
        _source_line_number,
        _loaded_at

    from source

)

select * from renamed
