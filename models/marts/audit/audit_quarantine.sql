-- Every raw row that failed a business rule, across entities, with where it came from and
-- why. The row itself stays in raw.<entity> at (source_file, source_line_number).
{%- set entities = [
    ('customers', "customer_id"),
    ('products', "product_id"),
    ('orders', "order_id"),
    ('order_lines', "order_line_id"),
    ('support_tickets', "ticket_id"),
    ('cost_rates', dbt.concat(["activity", "'|'", "coalesce(support_channel, '')", "'|'", dbt.safe_cast("valid_from", api.Column.translate_type("string"))])),
    ('acquisition_spend', dbt.concat(["acquisition_channel", "'|'", dbt.safe_cast("spend_month", api.Column.translate_type("string"))])),
    ('service_contracts', "contract_id"),
] %}

with

{% for entity, _ in entities %}
{{ entity }} as (

    select * from {{ ref('int_' ~ entity ~ '_validated') }}

),

{% endfor %}
quarantined as (

    {% for entity, record_key in entities %}
    select
        '{{ entity }}' as entity,
        cast({{ record_key }} as {{ dbt.type_string() }}) as record_key,
        quarantine_reason,
        _source_file as source_file,
        _source_line_number as source_line_number,
        _load_id as load_id,
        _loaded_at as loaded_at
    from {{ entity }}
    where is_quarantined
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select * from quarantined

)

select * from final
