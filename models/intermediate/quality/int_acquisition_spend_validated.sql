-- Every staged acquisition-spend row with the reasons it is quarantined (null: clean).
with

spend as (

    select * from {{ ref('stg_landing__acquisition_spend') }}

),

acquisition_channels as (

    select * from {{ ref('acquisition_channels') }}

),

ranked as (

    select
        *,
        {{ latest_version_rank(['acquisition_channel', 'spend_month']) }} as version_rank
    from spend

),

checked as (

    select
        ranked.*,
        {{ quarantine_reason([
            ("ranked.version_rank > 1", "duplicate_spend_month"),
            ("known_channels.acquisition_channel is null", contract_seed_reason('acquisition_spend', 'acquisition_channel')),
            ("ranked.spend_month <> " ~ dbt.date_trunc('month', 'ranked.spend_month'), "spend_month_not_first_day"),
            ("ranked.spend_amount < 0", "negative_spend"),
            ("ranked.currency <> " ~ sql_literal(var('reporting_currency'), 'currency', 'reporting_currency'), "currency_mismatch"),
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
