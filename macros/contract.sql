{#-
    Allowed values of a landing column, read from the contract meta in
    models/staging/landing/_landing__sources.yml, so the lists live in one place.
    Renders a SQL list literal: ('a', 'b'). At parse time the graph is not loaded yet,
    so it renders a placeholder that is never executed.
-#}
{% macro contract_allowed_values(table_name, column_name) -%}
    {%- if not execute -%}
        ('')
    {%- else -%}
        {%- set source_node = graph.sources['source.' ~ project_name ~ '.landing.' ~ table_name] -%}
        {%- set column = source_node.columns[column_name] -%}
        {%- set meta = column.config.meta if column.config and column.config.meta else column.meta -%}
        {%- set allowed = meta.get('contract', {}).get('allowed', []) -%}
        {%- if allowed | length == 0 -%}
            {{ exceptions.raise_compiler_error("landing." ~ table_name ~ "." ~ column_name ~ " has no allowed values in the contract") }}
        {%- endif -%}
        ({%- for value in allowed -%}'{{ value }}'{{ ", " if not loop.last }}{%- endfor -%})
    {%- endif -%}
{%- endmacro %}


{#-
    The quarantine reason of a landing value that the seed named by the column's contract
    meta `allowed_seed` does not list: "<column>_not_in_seeds/<seed>.csv", so the reason
    names the file to edit (segmentation/ingest/contract.py builds the same text). The
    model joins the seed itself (an import CTE over ref('<seed>')), so dbt sees the
    dependency at parse time.
-#}
{% macro contract_seed_reason(table_name, column_name) -%}
    {%- if not execute -%}
        {{ column_name }}_not_in_seed
    {%- else -%}
        {%- set source_node = graph.sources['source.' ~ project_name ~ '.landing.' ~ table_name] -%}
        {%- set column = source_node.columns[column_name] -%}
        {%- set meta = column.config.meta if column.config and column.config.meta else column.meta -%}
        {%- set seed = meta.get('contract', {}).get('allowed_seed') -%}
        {%- if not seed -%}
            {{ exceptions.raise_compiler_error("landing." ~ table_name ~ "." ~ column_name ~ " has no allowed_seed in the contract") }}
        {%- endif -%}
        {{ column_name }}_not_in_seeds/{{ seed }}.csv
    {%- endif -%}
{%- endmacro %}


{#-
    The reasons a row is quarantined, as one string ("unknown_customer; duplicate_order_id"),
    or null when the row is clean. `checks` is a list of (condition, reason) pairs; every
    failing check is listed, so a row with two problems says both.
    Portable: dbt.concat with empty-string branches (concat_ws is not null-safe everywhere).
    The string is only built for rows where some check holds (the outer case): clean rows,
    nearly all of them, cost one boolean test per check and no string work. A check that is
    null counts as not failing in both places, so the result is the same as building it for
    every row.
-#}
{% macro quarantine_reason(checks) -%}
    {%- set parts = [] -%}
    {%- set conditions = [] -%}
    {%- for condition, reason in checks -%}
        {%- do parts.append("case when " ~ condition ~ " then '; " ~ reason ~ "' else '' end") -%}
        {%- do conditions.append("(" ~ condition ~ ")") -%}
    {%- endfor -%}
    case when {{ conditions | join(' or ') }} then nullif(substr({{ dbt.concat(parts) }}, 3), '') end
{%- endmacro %}


{#- Rank of a row among the rows that share its key: 1 is the version loaded last. -#}
{% macro latest_version_rank(key_columns) -%}
    row_number() over (
        partition by {{ key_columns | join(', ') }}
        order by _loaded_at desc, _source_file desc, _source_line_number desc
    )
{%- endmacro %}
