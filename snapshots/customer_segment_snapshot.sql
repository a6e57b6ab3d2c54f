{#-
    SCD type 2 history of each customer's value tier and service assignment, one version
    per change, from customer_service_assignment at the review date of the build.
    dbt_valid_from / dbt_valid_to are review dates (updated_at = the review date), not
    wall-clock times, so a backfill reproduces the same history.
    It records rolling reviews only, and only a review not older than the latest one
    recorded: an annual review or a re-run of a past review (whose source rows are
    filtered out here) leaves it untouched, so the versions stay in date order.
    segment_review_history keeps every review in full; this keeps only the changes.
    Not built on Spark: dbt snapshots need merge, i.e. Delta or Iceberg tables, which a
    plain Spark (Parquet tables) does not have.
-#}
{% snapshot customer_segment_snapshot %}

{{ config(
    enabled=(target.type != 'spark'),
    unique_key='customer_id',
    strategy='check',
    check_cols=[
        'value_tier',
        'effective_service_level',
        'routing_queue',
        'sla_first_response_hours',
        'dedicated_account_manager',
        'concierge',
    ],
    updated_at='cast(review_date as ' ~ dbt.type_timestamp() ~ ')',
) }}

{%- set existing = none %}
{%- if execute %}
    {%- set existing = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier) %}
{%- endif %}

select *
from {{ ref('customer_service_assignment') }}
where {{ sql_literal(var('review_type', 'rolling'), 'name', 'review_type') }} = 'rolling'
{%- if existing is not none %}
    and cast(review_date as {{ dbt.type_timestamp() }}) >= (
        select coalesce(max(dbt_valid_from), cast('1900-01-01' as {{ dbt.type_timestamp() }}))
        from {{ this }}
    )
{%- endif %}

{% endsnapshot %}
