with

source as (

    select * from {{ source('loader', '_load_rejects') }}

),

renamed as (

    select
        load_id,
        entity,
        file_path,
        line_number,
        column_name,
        reason as reject_reason,
        raw_value,
        raw_text,
        rejected_at

    from source

)

select * from renamed
