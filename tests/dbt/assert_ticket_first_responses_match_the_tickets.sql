-- fct_support_tickets carries each clean ticket's first response as validated, never before
-- the ticket opened, and its hours agree with the timestamps (to the second).
with

facts as (

    select * from {{ ref('fct_support_tickets') }}

),

validated as (

    select * from {{ ref('int_support_tickets_validated') }}

),

clean_tickets as (

    select
        ticket_id,
        first_response_at
    from validated
    where not is_quarantined

)

select
    facts.ticket_id,
    facts.opened_at,
    facts.first_response_at,
    facts.first_response_hours,
    clean_tickets.first_response_at as validated_first_response_at
from facts
inner join clean_tickets
    on facts.ticket_id = clean_tickets.ticket_id
where
    (facts.first_response_at is null) <> (clean_tickets.first_response_at is null)
    or facts.first_response_at <> clean_tickets.first_response_at
    or facts.first_response_at < facts.opened_at
    or (facts.first_response_hours is null) <> (facts.first_response_at is null)
    or abs(
        facts.first_response_hours * 3600
        - {{ dbt.datediff('facts.opened_at', 'facts.first_response_at', 'second') }}
    ) > 1
