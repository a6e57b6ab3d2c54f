{#- Corrections of dbt-spark's cross-database macros (the root project's spark__ macros win
    dbt's dispatch), so models keep calling dbt.dateadd / dbt.listagg unchanged. -#}

{#- dbt-spark multiplies the interval without parentheses: 'n - 1' by year became n - 1*12. -#}
{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    {{ dbt.spark__dateadd(datepart, '(' ~ interval ~ ')', from_date_or_timestamp) }}
{%- endmacro %}

{#- dbt-spark ignores the order by of listagg. Sort (order keys..., value) structs instead:
    ascending keys only, as `order by a, b`. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if order_by_clause -%}
        {%- set fields = [] -%}
        {%- for key in listagg_order_keys(order_by_clause, 'Spark') -%}
            {%- do fields.append("'k" ~ loop.index ~ "', " ~ key) -%}
        {%- endfor -%}
        {%- set collected = "transform(array_sort(collect_list(named_struct(" ~ fields | join(', ')
            ~ ", 'v', " ~ measure ~ "))), x -> x.v)" -%}
    {%- else -%}
        {%- set collected = "collect_list(" ~ measure ~ ")" -%}
    {%- endif -%}
    {%- if limit_num -%}
        {%- set collected = "slice(" ~ collected ~ ", 1, " ~ limit_num ~ ")" -%}
    {%- endif -%}
    array_join({{ collected }}, {{ delimiter_text }})
{%- endmacro %}

{#- dbt-spark's session mode binds an empty seed value as the string 'None' (a text column
    got 'None', not null). Render every value as a literal instead: null stays null. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
  {%- set batch_size = get_batch_size() -%}
  {%- set column_override = model['config'].get('column_types', {}) -%}
  {%- set statements = [] -%}
  {%- for chunk in agate_table.rows | batch(batch_size) -%}
      {%- set sql -%}
          insert into {{ this.render() }} values
          {% for row in chunk -%}
              ({%- for col_name in agate_table.column_names -%}
                  {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
                  {%- set type = column_override.get(col_name, inferred_type) -%}
                  {%- set value = row[loop.index0] -%}
                  {%- if value is none -%}
                    cast(null as {{ type }})
                  {%- else -%}
                    cast('{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}' as {{ type }})
                  {%- endif -%}
                  {%- if not loop.last %},{% endif -%}
              {%- endfor -%})
              {%- if not loop.last %},{% endif %}
          {% endfor %}
      {%- endset -%}
      {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
      {%- if loop.index0 == 0 -%}
          {%- do statements.append(sql) -%}
      {%- endif -%}
  {%- endfor -%}
  {{ return(statements[0]) }}
{% endmacro %}

{#- Contract constraints (not null) are applied with ALTER TABLE, which only Delta tables
    accept; dbt-spark assumes Delta when file_format is not set. Plain Parquet tables keep
    the contract's names and types, and the data tests check not null. -#}
{% macro spark__persist_constraints(relation, model) %}
  {%- if config.get('contract').enforced and config.get('file_format') == 'delta' -%}
    {%- do alter_table_add_constraints(relation, model.constraints) -%}
    {%- do alter_column_set_constraints(relation, model.columns) -%}
  {%- endif -%}
{% endmacro %}
