-- Support behaviour per customer as of the review date, from clean tickets opened on or
-- before it: the preferred channel (most tickets to date; ties: the channel used most
-- recently, then its name), ticket counts, and the CSAT of the rolling window.
-- Customers without a ticket have no row.
with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

support_tickets as (

    select * from {{ ref('int_support_tickets_validated') }}

),

clean_tickets as (

    select
        support_tickets.customer_id,
        support_tickets.ticket_id,
        support_tickets.opened_date,
        support_tickets.support_channel,
        support_tickets.csat_score,
        support_tickets.opened_date >= review_parameters.rolling_window_start as is_in_rolling_window
    from support_tickets
    cross join review_parameters
    where not support_tickets.is_quarantined
        and support_tickets.opened_date <= review_parameters.review_date

),

channel_counts as (

    select
        customer_id,
        support_channel,
        count(*) as channel_tickets,
        max(opened_date) as last_opened_date
    from clean_tickets
    group by
        customer_id,
        support_channel

),

channels_ranked as (

    select
        customer_id,
        support_channel,
        channel_tickets,
        cast(sum(channel_tickets) over (partition by customer_id) as {{ dbt.type_bigint() }}) as tickets_to_date,
        row_number() over (
            partition by customer_id
            order by channel_tickets desc, last_opened_date desc, support_channel asc
        ) as channel_rank
    from channel_counts

),

preferred_channels as (

    select
        customer_id,
        tickets_to_date,
        support_channel as preferred_support_channel,
        channel_tickets as preferred_channel_tickets
    from channels_ranked
    where channel_rank = 1

),

rolling_support as (

    select
        customer_id,
        cast(sum(case when is_in_rolling_window then 1 else 0 end) as {{ dbt.type_bigint() }}) as rolling_tickets,
        count(case when is_in_rolling_window then csat_score end) as rolling_csat_responses,
        avg(case when is_in_rolling_window then {{ as_double('csat_score') }} end)
            as rolling_mean_csat
    from clean_tickets
    group by customer_id

),

final as (

    select
        preferred_channels.customer_id,
        preferred_channels.tickets_to_date,
        preferred_channels.preferred_support_channel,
        preferred_channels.preferred_channel_tickets,
        {{ divide('preferred_channels.preferred_channel_tickets', 'preferred_channels.tickets_to_date') }}
            as preferred_channel_share,
        rolling_support.rolling_tickets,
        rolling_support.rolling_csat_responses,
        rolling_support.rolling_mean_csat
    from preferred_channels
    inner join rolling_support
        on preferred_channels.customer_id = rolling_support.customer_id

)

select * from final
