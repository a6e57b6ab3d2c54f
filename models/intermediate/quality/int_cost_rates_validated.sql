-- Every staged cost rate with the reasons it is quarantined (null: clean).
-- Overlapping validity periods for the same activity and channel are quarantined too,
-- because an activity must find exactly one rate (costs are conserved).
with

cost_rates as (

    select * from {{ ref('stg_landing__cost_rates') }}

),

ranked as (

    select
        *,
        {{ latest_version_rank(['activity', "coalesce(support_channel, '')", 'valid_from']) }} as version_rank
    from cost_rates

),

current_rates as (

    select * from ranked
    where version_rank = 1

),

overlapping as (

    select distinct
        earlier.activity,
        earlier.support_channel,
        earlier.valid_from
    from current_rates as earlier
    inner join current_rates as later
        on earlier.activity = later.activity
        and coalesce(earlier.support_channel, '') = coalesce(later.support_channel, '')
        and earlier.valid_from < later.valid_from
        and (earlier.valid_to is null or earlier.valid_to > later.valid_from)

),

checked as (

    select
        ranked.*,
        {{ quarantine_reason([
            ("ranked.version_rank > 1", "duplicate_rate"),
            ("ranked.activity not in " ~ contract_allowed_values('cost_rates', 'activity'), "invalid_activity"),
            ("ranked.activity = 'support_minute' and ranked.support_channel is null", "missing_channel"),
            ("ranked.activity = 'support_minute' and ranked.support_channel not in " ~ contract_allowed_values('support_tickets', 'channel'), "invalid_channel"),
            ("ranked.valid_to <= ranked.valid_from", "valid_to_not_after_valid_from"),
            ("ranked.rate < 0", "negative_rate"),
            ("ranked.currency <> " ~ sql_literal(var('reporting_currency'), 'currency', 'reporting_currency'), "currency_mismatch"),
            ("overlapping.activity is not null and ranked.version_rank = 1", "overlapping_validity"),
        ]) }} as quarantine_reason
    from ranked
    left join overlapping
        on ranked.activity = overlapping.activity
        and coalesce(ranked.support_channel, '') = coalesce(overlapping.support_channel, '')
        and ranked.valid_from = overlapping.valid_from

),

final as (

    select
        *,
        quarantine_reason is not null as is_quarantined
    from checked

)

select * from final
