-- Every staged acquisition-spend row with the reasons it is quarantined (null: clean).
with

spend as (

    select * from {{ ref('stg_landing__acquisition_spend') }}

),

ranked as (

    select
        *,
        {{ latest_version_rank(['acquisition_channel', 'spend_month']) }} as version_rank
    from spend

),

checked as (

    select
        *,
        {{ quarantine_reason([
            ("version_rank > 1", "duplicate_spend_month"),
            ("acquisition_channel not in " ~ contract_allowed_values('acquisition_spend', 'acquisition_channel'), "invalid_acquisition_channel"),
            ("spend_month <> " ~ dbt.date_trunc('month', 'spend_month'), "spend_month_not_first_day"),
            ("spend_amount < 0", "negative_spend"),
            ("currency <> " ~ sql_literal(var('reporting_currency'), 'currency', 'reporting_currency'), "currency_mismatch"),
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
