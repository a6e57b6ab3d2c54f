-- Every staged product row with the reasons it is quarantined (null: clean).
-- Incremental (macros/incremental.sql): a refresh recomputes every row of the products
-- that new loads touched.
{{ config(**incremental_by_key('product_id')) }}

with

staged_products as (

    select * from {{ ref('stg_landing__products') }}

),

product_categories as (

    select * from {{ ref('product_categories') }}

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
        ranked.*,
        {{ quarantine_reason([
            ("ranked.version_rank > 1", "duplicate_product_id"),
            ("known_categories.product_category is null", contract_seed_reason('products', 'category')),
            ("ranked.list_price < 0", "negative_list_price"),
            ("ranked.unit_cost < 0", "negative_unit_cost"),
        ]) }} as quarantine_reason
    from ranked
    left join product_categories as known_categories
        on ranked.product_category = lower(known_categories.product_category)

),

final as (

    select
        *,
        quarantine_reason is not null as is_quarantined
    from checked

)

select * from final
