-- Support behaviour per customer as of the review date, from clean tickets opened on or
-- before it: the preferred channel (most tickets to date; ties: the channel used most
-- recently, then its name), ticket counts, and the CSAT and first-response time of the
-- rolling window (tickets with a first response only; none when the landing files have no
-- first_response_at).
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
        -- Only where there is a first response: dbt-spark's datediff asserts non-null timestamps.
        -- Whole seconds, so the mean below is exact (an avg of doubles varies in its last bits
        -- with the order threads finish; see exact_mean).
        case
            when support_tickets.first_response_at is not null
                then {{ dbt.datediff('support_tickets.opened_at', 'support_tickets.first_response_at', 'second') }}
        end as first_response_seconds,
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
            as rolling_mean_csat,
        count(case when is_in_rolling_window then first_response_seconds end) as rolling_first_responses,
        {{ divide('avg(case when is_in_rolling_window then first_response_seconds end)', '3600') }}
            as rolling_mean_first_response_hours
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
        rolling_support.rolling_mean_csat,
        rolling_support.rolling_first_responses,
        rolling_support.rolling_mean_first_response_hours
    from preferred_channels
    inner join rolling_support
        on preferred_channels.customer_id = rolling_support.customer_id

)

select * from final
