-- A pseudonymous contact key per clean customer: a salted hash of the normalised email, so
-- BI tools and CRM exports can join on a customer's contact without the warehouse's BI
-- marts ever holding the email itself. The salt comes from the environment
-- (SEGMENTATION_CONTACT_KEY_SALT); without it the key is only as strong as the public
-- sample salt, which is fine for the generated data and nothing else. The salt is read at run
-- time on every engine (macro contact_key_salt), so it appears in no compiled SQL, artefact or log.
with

customers as (

    select * from {{ ref('int_customers_validated') }}
    where not is_quarantined

),

final as (

    select
        customer_id,
        case
            when email is not null and trim(email) <> ''
                then {{ dbt.hash(dbt.concat([contact_key_salt(), "lower(trim(email))"])) }}
        end as contact_key
    from customers

)

select * from final
