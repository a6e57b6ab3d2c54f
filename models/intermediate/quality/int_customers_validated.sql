-- Every staged customer row with the reasons it is quarantined (null: clean).
-- The last loaded version of a customer_id wins; earlier versions are duplicates.
-- Incremental (macros/incremental.sql): a refresh recomputes every row of the customers
-- that new loads touched.
{{ config(**incremental_by_key('customer_id')) }}

with

staged_customers as (

    select * from {{ ref('stg_landing__customers') }}

),

acquisition_channels as (

    select * from {{ ref('acquisition_channels') }}

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
        ranked.*,
        {{ quarantine_reason([
            ("ranked.version_rank > 1", "duplicate_customer_id"),
            ("ranked.signup_date > cast(ranked._loaded_at as date)", "signup_in_future"),
            ("ranked.acquisition_channel is not null and known_channels.acquisition_channel is null", contract_seed_reason('customers', 'acquisition_channel')),
            ("ranked.industry not in " ~ contract_allowed_values('customers', 'industry'), "invalid_industry"),
            ("ranked.company_size_band not in " ~ contract_allowed_values('customers', 'company_size_band'), "invalid_company_size_band"),
            ("ranked.region not in " ~ contract_allowed_values('customers', 'region'), "invalid_region"),
            ("ranked.service_plan not in " ~ contract_allowed_values('customers', 'service_plan'), "invalid_service_plan"),
            ("ranked.given_acquisition_cost < 0", "negative_acquisition_cost"),
        ]) }} as quarantine_reason
    from ranked
    left join acquisition_channels as known_channels
        on ranked.acquisition_channel = lower(known_channels.acquisition_channel)

),

final as (

    select
        *,
        quarantine_reason is not null as is_quarantined
    from checked

)

select * from final
