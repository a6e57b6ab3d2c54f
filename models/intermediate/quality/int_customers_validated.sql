-- Every staged customer row with the reasons it is quarantined (null: clean).
-- The last loaded version of a customer_id wins; earlier versions are duplicates.
-- Incremental (macros/incremental.sql): a refresh recomputes every row of the customers
-- that new loads touched.
{{ config(**incremental_by_key('customer_id')) }}

with

staged_customers as (

    select * from {{ ref('stg_landing__customers') }}

),

touched_customers as (  -- noqa: ST03

    select customer_id from staged_customers
    where _loaded_at > {{ loaded_watermark() }}

),

customers as (

    select staged_customers.* from staged_customers
    {%- if is_incremental() %}
        where staged_customers.customer_id in (select touched_customers.customer_id from touched_customers)
    {%- endif %}

),

ranked as (

    select
        *,
        {{ latest_version_rank(['customer_id']) }} as version_rank
    from customers

),

checked as (

    select
        *,
        {{ quarantine_reason([
            ("version_rank > 1", "duplicate_customer_id"),
            ("signup_date > cast(_loaded_at as date)", "signup_in_future"),
            ("acquisition_channel not in " ~ contract_allowed_values('customers', 'acquisition_channel'), "invalid_acquisition_channel"),
            ("industry not in " ~ contract_allowed_values('customers', 'industry'), "invalid_industry"),
            ("company_size_band not in " ~ contract_allowed_values('customers', 'company_size_band'), "invalid_company_size_band"),
            ("region not in " ~ contract_allowed_values('customers', 'region'), "invalid_region"),
            ("service_plan not in " ~ contract_allowed_values('customers', 'service_plan'), "invalid_service_plan"),
            ("given_acquisition_cost < 0", "negative_acquisition_cost"),
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
