{#-
  Values from configuration (dbt vars, the environment) enter SQL only through these macros:
  checked for their shape, then rendered as a literal, so no value can become SQL. The CLI
  and Dagster check vars before dbt runs (segmentation/dbt_vars.py); these checks hold for
  plain `dbt build --vars ...` too.

  sql_literal(value, shape, var_name):
    shape 'string'   any text, quoted with the engine's string escaping
          'date'     YYYY-MM-DD (a YAML date too), quoted: wrap it in cast(... as date)
          'currency' a three-letter code such as USD, quoted
          'name'     lowercase letters, digits, _ (a queue, a review type), quoted
          'number'   an int or float (or its text), rendered bare, as `{{ value }}` would
    none renders null. A value of another shape is a compilation error naming the var.
-#}

{% macro sql_literal(value, shape='string', var_name='value') -%}
  {%- if value is none -%}
    {{- return('null') -}}
  {%- endif -%}
  {%- if shape == 'number' -%}
    {%- set text = value | string | trim -%}
    {%- if value is sameas true or value is sameas false
          or not (value is number or modules.re.fullmatch('[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?', text)) -%}
      {{- exceptions.raise_compiler_error("dbt var " ~ var_name ~ " must be a number, got " ~ (value | string)[:80]) -}}
    {%- endif -%}
    {{- return(text) -}}
  {%- endif -%}
  {%- set patterns = {
      'string': none,
      'date': '[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])',
      'currency': '[A-Z]{3}',
      'name': '[a-z][a-z0-9_]{0,62}',
  } -%}
  {%- if shape not in patterns -%}
    {{- exceptions.raise_compiler_error("sql_literal: unknown shape " ~ shape) -}}
  {%- endif -%}
  {%- set text = value | string -%}
  {%- if value is not string and shape != 'date' -%}
    {{- exceptions.raise_compiler_error("dbt var " ~ var_name ~ " must be text, got " ~ text[:80]) -}}
  {%- endif -%}
  {%- if patterns[shape] is not none and not modules.re.fullmatch(patterns[shape], text) -%}
    {%- set shapes = {'date': 'a date YYYY-MM-DD', 'currency': 'a three-letter currency code such as USD',
                      'name': 'a name of lowercase letters, digits and _'} -%}
    {{- exceptions.raise_compiler_error("dbt var " ~ var_name ~ " must be " ~ shapes[shape] ~ ", got " ~ text[:80]) -}}
  {%- endif -%}
  {{- return(adapter.dispatch('sql_string_literal', 'customer_segmentation')(text)) -}}
{%- endmacro %}

{#- A name from a var that SQL uses as a column name (never quoted text): checked, returned as is. -#}
{% macro sql_name(value, var_name='value') -%}
  {%- if value is not string or not modules.re.fullmatch('[a-z_][a-z0-9_]{0,62}', value) -%}
    {{- exceptions.raise_compiler_error("dbt var " ~ var_name ~ " must hold column names (lowercase letters, digits, _), got "
        ~ (value | string)[:80]) -}}
  {%- endif -%}
  {{- return(value) -}}
{%- endmacro %}

{#- A quoted string literal. DuckDB and PostgreSQL (standard_conforming_strings) double the
    quote; Spark reads a backslash as an escape and '' as two adjacent literals, so there
    both are escaped with a backslash. -#}
{% macro default__sql_string_literal(text) -%}
  {{- return("'" ~ text.replace("'", "''") ~ "'") -}}
{%- endmacro %}

{% macro spark__sql_string_literal(text) -%}
  {{- return("'" ~ text.replace("\\", "\\\\").replace("'", "\\'") ~ "'") -}}
{%- endmacro %}

{#- The salt of the contact key (int_customer_contact_keys), as an SQL expression. On DuckDB
    it is read at run time from a variable that the profile's plugin sets from
    SEGMENTATION_CONTACT_KEY_SALT (segmentation/dbt_secrets.py), so the salt is never in
    compiled SQL, target/ or logs; without the plugin the model fails instead of hashing
    with no salt. Spark and PostgreSQL (make portability, sample salt) render it as a literal. -#}
{% macro contact_key_salt() -%}
  {{- return(adapter.dispatch('contact_key_salt', 'customer_segmentation')()) -}}
{%- endmacro %}

{% macro default__contact_key_salt() -%}
  {{- return(sql_literal(env_var('SEGMENTATION_CONTACT_KEY_SALT', 'sample-data-only-not-a-secret'))) -}}
{%- endmacro %}

{% macro duckdb__contact_key_salt() -%}
  coalesce(getvariable('segmentation_contact_key_salt'),
           error('no contact key salt: run dbt with this project''s profiles.yml (plugin segmentation.dbt_secrets)'))
{%- endmacro %}
