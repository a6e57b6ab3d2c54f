-- Every staged support ticket with the reasons it is quarantined (null: clean).
-- Incremental (macros/incremental.sql): a refresh recomputes every row of the tickets
-- that new loads touched: a new row of the ticket, or of a customer it names.
{{ config(**incremental_by_key('ticket_id')) }}

with

staged_tickets as (

    select * from {{ ref('stg_landing__support_tickets') }}

),

customers as (

    select * from {{ ref('int_customers_validated') }}

),

touched_tickets as (  -- noqa: ST03

    {{ customer_children_touched_since('staged_tickets', 'ticket_id', loaded_watermark()) }}

),

tickets as (

    select staged_tickets.* from staged_tickets
    {%- if is_incremental() %}
        where staged_tickets.ticket_id in (select touched_tickets.ticket_id from touched_tickets)
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
        {{ latest_version_rank(['ticket_id']) }} as version_rank
    from tickets

),

checked as (

    select
        ranked.*,
        {{ quarantine_reason([
            ("ranked.version_rank > 1", "duplicate_ticket_id"),
            ("current_customers.customer_id is null", "unknown_customer"),
            ("current_customers.is_quarantined", "customer_quarantined"),
            ("ranked.opened_at > ranked._loaded_at", "opened_in_future"),
            ("ranked.closed_at < ranked.opened_at", "closed_before_opened"),
            ("ranked.first_response_at < ranked.opened_at", "first_response_before_opened"),
            ("ranked.support_channel not in " ~ contract_allowed_values('support_tickets', 'channel'), "invalid_channel"),
            ("ranked.ticket_category not in " ~ contract_allowed_values('support_tickets', 'category'), "invalid_category"),
            ("ranked.priority not in " ~ contract_allowed_values('support_tickets', 'priority'), "invalid_priority"),
            ("ranked.handle_minutes < 0", "negative_handle_minutes"),
            ("ranked.csat_score not between 1 and 5", "csat_out_of_range"),
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
