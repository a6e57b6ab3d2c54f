-- Every staged product row with the reasons it is quarantined (null: clean).
-- Incremental (macros/incremental.sql): a refresh recomputes every row of the products
-- that new loads touched.
{{ config(**incremental_by_key('product_id')) }}

with

staged_products as (

    select * from {{ ref('stg_landing__products') }}

),

touched_products as (  -- noqa: ST03

    select product_id from staged_products
    where _loaded_at > {{ loaded_watermark() }}

),

products as (

    select staged_products.* from staged_products
    {%- if is_incremental() %}
        where staged_products.product_id in (select touched_products.product_id from touched_products)
    {%- endif %}

),

ranked as (

    select
        *,
        {{ latest_version_rank(['product_id']) }} as version_rank
    from products

),

checked as (

    select
        *,
        {{ quarantine_reason([
            ("version_rank > 1", "duplicate_product_id"),
            ("product_category not in " ~ contract_allowed_values('products', 'category'), "invalid_category"),
            ("list_price < 0", "negative_list_price"),
            ("unit_cost < 0", "negative_unit_cost"),
        ]) }} as quarantine_reason
    from ranked

),

final as (

    select
        *,
        quarantine_reason is not null as is_quarantined
    from checked

)

select * from final
