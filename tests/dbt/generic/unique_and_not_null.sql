{#-
    A key that is unique and present, and columns that are never null, checked in one scan
    of the model instead of a `unique` test and one `not_null` test per column (each a scan
    of a fact-size table). Returns one row per failing key: repeated, null, or with a null
    in one of `not_null_columns`. Honours the `where` config like the built-in tests.
-#}
{% test unique_and_not_null(model, column_name, not_null_columns=[]) %}

with

checked as (

    select
        {{ column_name }} as key_value,
        count(*) as rows_with_key,
        {%- if not_null_columns %}
        sum(
            case when {% for column in not_null_columns %}{{ column }} is null{{ " or " if not loop.last }}{% endfor %}
                then 1 else 0
            end
        ) as rows_with_nulls
        {%- else %}
        0 as rows_with_nulls
        {%- endif %}
    from {{ model }}
    group by {{ column_name }}

),

final as (

    select * from checked
    where rows_with_key > 1
        or key_value is null
        or rows_with_nulls > 0

)

select * from final

{% endtest %}
