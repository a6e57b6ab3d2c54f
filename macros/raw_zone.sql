{#-
  The raw zone: `segmentation load` writes typed Parquet files under SEGMENTATION_RAW_DIR
  (segmentation/ingest/raw_zone.py describes the layout and the commit protocol). dbt reads
  them through the sources `landing` and `loader` (schema raw): this macro, run by
  on-run-start, makes each source table a relation of the target over those files, keeping
  only rows of committed loads (a load id with a manifest file).

  The engine-specific part is the dispatched implementation:
  - duckdb (default__): a view over read_parquet, with the committed-load filter.
  - spark: per table, `create table raw.<t>__files like <its schema file> using parquet
    location '<raw_dir>/<t>'` (typed columns from `_schemas/<t>/schema.parquet`: Spark skips
    files named `_*`, so the `_schema.parquet` next to the data is invisible to it and an
    empty folder still reads with its columns), then a view raw.<t> with the same
    committed-load filter over raw._load_manifest__files.
  - postgres: copy the committed files into raw.<t> (the loader's Parquet read by DuckDB
    and written with COPY ... FROM STDIN, or the postgres scanner). Not written yet.
  Until then, on PostgreSQL the raw tables are put there before dbt runs (`make
  portability`, portability/run.py: put_tables), and that variant only checks that they
  exist.
-#}

{% macro raw_zone_dir() %}
  {#- Same default as segmentation.config.Settings: $SEGMENTATION_DATA_DIR/raw, else data/raw. -#}
  {{ return(env_var('SEGMENTATION_RAW_DIR', env_var('SEGMENTATION_DATA_DIR', 'data') ~ '/raw')) }}
{% endmacro %}

{% macro raw_zone_tables() %}
  {#- Every raw-zone table: (source node, its columns in order). Landing tables carry the
      loader's metadata columns after the contract's. -#}
  {%- set tables = [] -%}
  {%- for node in graph.sources.values() if node.source_name in ('landing', 'loader') -%}
    {%- set columns = node.columns.keys() | list -%}
    {%- if node.source_name == 'landing' -%}
      {%- set columns = columns + ['_load_id', '_source_file', '_source_line_number', '_loaded_at'] -%}
    {%- endif -%}
    {%- do tables.append((node, columns)) -%}
  {%- endfor -%}
  {{ return(tables) }}
{% endmacro %}

{% macro create_raw_zone_relations() %}
  {%- if execute -%}
    {{ return(adapter.dispatch('create_raw_zone_relations', 'customer_segmentation')()) }}
  {%- endif -%}
{% endmacro %}

{% macro default__create_raw_zone_relations() %}
  {%- set raw_dir = raw_zone_dir() -%}
  {%- set manifest_files = raw_dir ~ '/_load_manifest/*.parquet' -%}
  {%- set statements = [] -%}
  {#- Not through run_query or get_relation: they open a transaction on this connection, and
      the hook's statements would run inside it and be rolled back with it. -#}
  {%- set (_, found) = adapter.execute(
      "select lower(table_schema), lower(table_name) from information_schema.tables"
      ~ " where table_type = 'BASE TABLE' and table_catalog = current_database()",
      auto_begin=false, fetch=true) -%}
  {%- set old_tables = [] -%}
  {%- for row in found.rows -%}{%- do old_tables.append((row[0], row[1])) -%}{%- endfor -%}
  {%- for node, columns in raw_zone_tables() -%}
    {%- set relation = api.Relation.create(database=node.database, schema=node.schema, identifier=node.identifier) -%}
    {%- set files = raw_dir ~ '/' ~ node.identifier ~ '/*.parquet' -%}
    {%- set load_id = 'load_id' if node.source_name == 'loader' else '_load_id' -%}
    {%- set sql -%}
      create or replace view {{ relation }} as
      select {% for column in columns %}{{ adapter.quote(column) }}{{ ", " if not loop.last }}{% endfor %}
      from read_parquet({{ raw_zone_string(files) }}, union_by_name = true)
      {%- if node.identifier != '_load_manifest' %}
      where {{ adapter.quote(load_id) }} in (select load_id from read_parquet({{ raw_zone_string(manifest_files) }}))
      {%- endif %}
    {%- endset -%}
    {%- if loop.first -%}
      {%- do statements.append('create schema if not exists ' ~ relation.include(identifier=false)) -%}
    {%- endif -%}
    {#- A warehouse from before the raw zone holds raw tables of the same names. They are
        kept, renamed (<table>__before_raw_zone): rows whose landing files are gone exist
        nowhere else. -#}
    {%- if (node.schema | lower, node.identifier | lower) in old_tables -%}
      {%- do statements.append('alter table ' ~ relation ~ ' rename to '
                               ~ adapter.quote(node.identifier ~ '__before_raw_zone')) -%}
    {%- endif -%}
    {%- do statements.append(sql) -%}
  {%- endfor -%}
  {{ return(statements | join(';\n')) }}
{% endmacro %}

{% macro spark__create_raw_zone_relations() %}
  {%- set raw_dir = raw_zone_dir() -%}
  {%- set tables = raw_zone_tables() -%}
  {%- set files_tables = {} -%}
  {#- First every table over its folder (the views below read the manifest's), then the views.
      A table is dropped and created again on every run: cheap (metadata only, the files stay:
      the tables are external), and Spark lists the folder anew, so files of a new load and
      columns added to the contract are seen. -#}
  {%- for node, columns in tables -%}
    {%- set relation = api.Relation.create(schema=node.schema, identifier=node.identifier) -%}
    {%- set files_table = api.Relation.create(schema=node.schema, identifier=node.identifier ~ '__files') -%}
    {%- set schema_view = adapter.quote('raw_zone_schema__' ~ node.identifier) -%}
    {%- do files_tables.update({node.identifier: files_table}) -%}
    {%- if loop.first -%}
      {%- do run_query('create schema if not exists ' ~ adapter.quote(node.schema)) -%}
    {%- endif -%}
    {#- Raw tables put there before the raw zone (make portability, or by hand) are kept,
        renamed <table>__before_raw_zone, as on DuckDB. -#}
    {%- set existing = adapter.get_relation(database=none, schema=node.schema, identifier=node.identifier) -%}
    {%- if existing is not none and existing.type != 'view' -%}
      {%- do run_query('alter table ' ~ relation ~ ' rename to '
                       ~ api.Relation.create(schema=node.schema, identifier=node.identifier ~ '__before_raw_zone')) -%}
    {%- endif -%}
    {%- do run_query('create or replace temporary view ' ~ schema_view ~ ' using parquet options (path '
                     ~ raw_zone_string(raw_dir ~ '/_schemas/' ~ node.identifier ~ '/schema.parquet') ~ ')') -%}
    {%- do run_query('drop table if exists ' ~ files_table) -%}
    {%- do run_query('create table ' ~ files_table ~ ' like ' ~ schema_view ~ ' using parquet location '
                     ~ raw_zone_string(raw_dir ~ '/' ~ node.identifier)) -%}
  {%- endfor -%}
  {%- for node, columns in tables -%}
    {%- set relation = api.Relation.create(schema=node.schema, identifier=node.identifier) -%}
    {%- set load_id = 'load_id' if node.source_name == 'loader' else '_load_id' -%}
    {%- set sql -%}
      create or replace view {{ relation }} as
      select {% for column in columns %}{{ adapter.quote(column) }}{{ ", " if not loop.last }}{% endfor %}
      from {{ files_tables[node.identifier] }}
      {%- if node.identifier != '_load_manifest' %}
      where {{ adapter.quote(load_id) }} in (select load_id from {{ files_tables['_load_manifest'] }})
      {%- endif %}
    {%- endset -%}
    {%- do run_query(sql) -%}
  {%- endfor -%}
  {{ return('') }}
{% endmacro %}

{% macro postgres__create_raw_zone_relations() %}
  {{ return(raw_tables_put_before_dbt()) }}
{% endmacro %}

{#- PostgreSQL: the raw zone is not wired for it yet; the raw tables must already be there. -#}
{% macro raw_tables_put_before_dbt() %}
  {%- for node, columns in raw_zone_tables() -%}
    {%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.identifier) -%}
    {%- if relation is none -%}
      {{ exceptions.raise_compiler_error(
          "raw table " ~ node.schema ~ "." ~ node.identifier ~ " is missing on " ~ target.type
          ~ ": the raw zone is not wired for this engine yet; put the raw tables there first (make portability, see README)") }}
    {%- endif -%}
  {%- endfor -%}
  {{ return('') }}
{% endmacro %}

{#- A path as a string literal, with the engine's escaping (macros/sql_literal.sql): on Spark a
    backslash escapes, so doubling the quote alone would let a path end the literal. -#}
{% macro raw_zone_string(value) %}
  {{- return(adapter.dispatch('sql_string_literal', 'customer_segmentation')(value)) -}}
{% endmacro %}
