{#-
  Proposed service policies given as the dbt var policy_scenarios (segmentation simulate
  --policy FILE, Dagster run config, or plain dbt --vars): a list of rows in the shape of
  seeds/service_policy_scenarios.csv (the scenario's name plus every column of seeds/service_policy.csv).
  Rendered as a select of literals, every value through sql_literal, so no value can become
  SQL; an empty value (or a missing key) is null. An empty list renders no rows with the
  same columns.
-#}

{% macro policy_scenario_columns() -%}
  {{- return([
      ('scenario', 'text'),
      ('segment_family', 'text'),
      ('segment', 'text'),
      ('service_level', 'text'),
      ('entitlement_rank', 'integer'),
      ('sla_first_response_hours', 'double'),
      ('allowed_channels', 'text'),
      ('dedicated_account_manager', 'boolean'),
      ('concierge', 'boolean'),
      ('loyalty_benefits', 'text'),
      ('cost_to_serve_budget_per_year', 'double'),
      ('routing_queue', 'text'),
      ('routing_precedence', 'integer'),
      ('routing_min_predicted_clv', 'double'),
      ('policy_note', 'text'),
  ]) -}}
{%- endmacro %}

{% macro policy_scenario_value(value, kind, var_name) -%}
  {%- set types = {'text': dbt.type_string(), 'integer': dbt.type_int(), 'double': type_double(), 'boolean': dbt.type_boolean()} -%}
  {%- if value is none or (value is string and value | trim == '') -%}
    cast(null as {{ types[kind] }})
  {%- elif kind == 'boolean' -%}
    {%- set text = value | string | trim | lower -%}
    {%- if text not in ['true', 'false'] -%}
      {{- exceptions.raise_compiler_error("dbt var " ~ var_name ~ " must be true or false, got " ~ (value | string)[:80]) -}}
    {%- endif -%}
    cast({{ text }} as {{ types[kind] }})
  {%- elif kind == 'text' -%}
    cast({{ sql_literal(value | string, 'string', var_name) }} as {{ types[kind] }})
  {%- else -%}
    cast({{ sql_literal(value, 'number', var_name) }} as {{ types[kind] }})
  {%- endif -%}
{%- endmacro %}

{% macro policy_scenarios_from_var() -%}
  {%- set rows = var('policy_scenarios', []) or [] -%}
  {%- if rows is string or rows is mapping or rows is not iterable -%}
    {{- exceptions.raise_compiler_error("dbt var policy_scenarios must be a list of policy rows, got " ~ (rows | string)[:80]) -}}
  {%- endif -%}
  {%- set columns = policy_scenario_columns() -%}
  {%- if rows | length == 0 %}
    select
    {%- for name, kind in columns %}
        {{ policy_scenario_value(none, kind, 'policy_scenarios') }} as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
    where 1 = 0
  {%- else -%}
    {%- for row in rows %}
      {%- if row is not mapping -%}
        {{- exceptions.raise_compiler_error("dbt var policy_scenarios: row " ~ loop.index ~ " must be a mapping of column names to values") -}}
      {%- endif -%}
      {%- set row_number = loop.index -%}
      {%- for key in row -%}
        {%- if key not in columns | map('first') | list -%}
          {{- exceptions.raise_compiler_error("dbt var policy_scenarios: row " ~ row_number ~ " has an unknown column " ~ (key | string)[:80]) -}}
        {%- endif -%}
      {%- endfor %}
    select
      {%- for name, kind in columns %}
        {{ policy_scenario_value(row.get(name), kind, 'policy_scenarios[' ~ row_number ~ '].' ~ name) }} as {{ name }}{{ ',' if not loop.last }}
      {%- endfor %}
      {{- '\n    union all' if not loop.last }}
    {%- endfor %}
  {%- endif %}
{%- endmacro %}
