-- Nothing is lost: for every entity, records read from landing files = loaded + rejected,
-- and loaded (raw) rows = clean + quarantined rows. A dbt test fails the build otherwise.
{%- set entities = ['customers', 'products', 'orders', 'order_lines', 'support_tickets',
                    'cost_rates', 'acquisition_spend', 'service_contracts'] %}

with

manifest as (

    select * from {{ ref('stg_loader__load_manifest') }}

),

{% for entity in entities %}
stg_{{ entity }} as (

    select * from {{ ref('stg_landing__' ~ entity) }}

),

validated_{{ entity }} as (

    select * from {{ ref('int_' ~ entity ~ '_validated') }}

),

{% endfor %}
files as (

    select
        entity,
        sum(rows_read) as file_rows_read,
        sum(rows_loaded) as file_rows_loaded,
        sum(rows_rejected) as file_rows_rejected
    from manifest
    group by entity

),

warehouse_rows as (

    {% for entity in entities %}
    select
        '{{ entity }}' as entity,
        (select count(*) from stg_{{ entity }}) as raw_rows,
        count(*) as validated_rows,
        sum(case when is_quarantined then 0 else 1 end) as clean_rows,
        sum(case when is_quarantined then 1 else 0 end) as quarantined_rows
    from validated_{{ entity }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        warehouse_rows.entity,
        coalesce(files.file_rows_read, 0) as file_rows_read,
        coalesce(files.file_rows_rejected, 0) as file_rows_rejected,
        coalesce(files.file_rows_loaded, 0) as file_rows_loaded,
        warehouse_rows.raw_rows,
        warehouse_rows.validated_rows,
        coalesce(warehouse_rows.clean_rows, 0) as clean_rows,
        coalesce(warehouse_rows.quarantined_rows, 0) as quarantined_rows,
        (
            coalesce(files.file_rows_read, 0)
            = coalesce(files.file_rows_loaded, 0) + coalesce(files.file_rows_rejected, 0)
            and coalesce(files.file_rows_loaded, 0) = warehouse_rows.raw_rows
            and warehouse_rows.validated_rows = warehouse_rows.raw_rows
            and warehouse_rows.raw_rows
            = coalesce(warehouse_rows.clean_rows, 0) + coalesce(warehouse_rows.quarantined_rows, 0)
        ) as is_reconciled
    from warehouse_rows
    left join files
        on warehouse_rows.entity = files.entity

)

select * from final
