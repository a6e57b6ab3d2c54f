-- The review parameters travel down by cross join: more or fewer than one row would
-- multiply or drop every finance row.
with

review_parameters as (

    select * from {{ ref('int_review_parameters') }}

),

final as (

    select count(*) as parameter_rows
    from review_parameters
    having count(*) <> 1

)

select * from final
