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

{#- The salt of the contact key (int_customer_contact_keys), as an SQL expression read at run
    time on every engine, so the salt is never in compiled SQL, target/ or dbt's logs. The
    environment variable SEGMENTATION_CONTACT_KEY_SALT (default: the public sample salt) is
    handed to the engine beside dbt, never through dbt (segmentation/dbt_secrets.py):
    - DuckDB: a DuckDB variable that the profile's plugin sets on every connection;
    - PostgreSQL: the setting segmentation.contact_key_salt, given to each session by PGOPTIONS;
    - Spark: a one-row temporary view of the session, made from Python rows (a session
      variable would not do: Spark prints its value in query plans and analysis errors).
    `segmentation` sets them for every dbt command it runs; plain `dbt` needs them set by hand
    on PostgreSQL and Spark (README, "Reliability and security"). Without them the model fails,
    never hashes with no salt. -#}
{% macro contact_key_salt() -%}
  {{- return(adapter.dispatch('contact_key_salt', 'customer_segmentation')()) -}}
{%- endmacro %}

{% macro default__contact_key_salt() -%}
  {{- exceptions.raise_compiler_error("contact_key_salt: no run-time salt for adapter " ~ adapter.type()
      ~ " (macros/sql_literal.sql): add a " ~ adapter.type() ~ "__contact_key_salt macro") -}}
{%- endmacro %}

{% macro duckdb__contact_key_salt() -%}
  coalesce(getvariable('segmentation_contact_key_salt'),
           error('no contact key salt: run dbt with this project''s profiles.yml (plugin segmentation.dbt_secrets)'))
{%- endmacro %}

{#- PostgreSQL has no error(): a cast of the message to integer fails with the message in it.
    concat() is stable, so PostgreSQL does not fold it while planning: the cast runs only
    when the setting is missing. -#}
{% macro postgres__contact_key_salt() -%}
  coalesce(current_setting('segmentation.contact_key_salt', true),
           cast(cast(concat('no contact key salt: run dbt through segmentation, or with ',
                            'PGOPTIONS=-csegmentation.contact_key_salt=<salt> (README, Reliability and security)')
                     as integer) as text))
{%- endmacro %}

{% macro spark__contact_key_salt() -%}
  (select contact_key_salt from segmentation_secrets)
{%- endmacro %}
