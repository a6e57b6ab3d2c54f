-- Reports (severity warn) acquisition spend that no customer carries: clean spend of a
-- channel-month in which no clean customer was acquired through that channel.
{{ config(severity='warn') }}

with

spend_allocations as (

    select * from {{ ref('int_acquisition_spend_allocated') }}

),

final as (

    select
        acquisition_channel,
        spend_month,
        unallocated_spend
    from spend_allocations
    where unallocated_spend > 0

)

select * from final
