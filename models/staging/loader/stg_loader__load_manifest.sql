with

source as (

    select * from {{ source('loader', '_load_manifest') }}

),

renamed as (

    select
        load_id,
        entity,
        file_path,
        content_sha256,
        file_bytes,
        file_format,
        rows_read,
        rows_loaded,
        rows_rejected,
        ignored_columns,
        loaded_at,
        status as file_status,
        note as file_note

    from source

)

select * from renamed
