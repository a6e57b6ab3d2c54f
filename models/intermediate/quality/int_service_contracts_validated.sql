-- Every staged service contract with the reasons it is quarantined (null: clean).
-- Incremental (macros/incremental.sql): a refresh recomputes every row of the contracts
-- that new loads touched: a new row of the contract, or of a customer it names.
{{ config(**incremental_by_key('contract_id')) }}

with

staged_contracts as (

    select * from {{ ref('stg_landing__service_contracts') }}

),

customers as (

    select * from {{ ref('int_customers_validated') }}

),

touched_contracts as (  -- noqa: ST03

    {{ customer_children_touched_since('staged_contracts', 'contract_id', loaded_watermark()) }}

),

contracts as (

    select staged_contracts.* from staged_contracts
    {%- if is_incremental() %}
        where staged_contracts.contract_id in (select touched_contracts.contract_id from touched_contracts)
    {%- endif %}

),

current_customers as (

    select
        customer_id,
        is_quarantined
    from customers
    where version_rank = 1

),

ranked as (

    select
        *,
        {{ latest_version_rank(['contract_id']) }} as version_rank
    from contracts

),

checked as (

    select
        ranked.*,
        {{ quarantine_reason([
            ("ranked.version_rank > 1", "duplicate_contract_id"),
            ("current_customers.customer_id is null", "unknown_customer"),
            ("current_customers.is_quarantined", "customer_quarantined"),
            ("ranked.service_plan not in " ~ contract_allowed_values('service_contracts', 'plan'), "invalid_plan"),
            ("ranked.end_date < ranked.start_date", "end_before_start"),
            ("ranked.annual_fee < 0", "negative_annual_fee"),
            ("ranked.currency <> " ~ sql_literal(var('reporting_currency'), 'currency', 'reporting_currency'), "currency_mismatch"),
        ]) }} as quarantine_reason
    from ranked
    left join current_customers
        on ranked.customer_id = current_customers.customer_id

),

final as (

    select
        *,
        quarantine_reason is not null as is_quarantined
    from checked

)

select * from final
