{#- The horizons (months) customer_clv has columns for: its enforced contract lists them, so
    they do not follow the var clv_horizons_months (customer_clv_horizons does). The CLV step
    always scores them (segmentation/clv/tables.py WIDE_HORIZONS_MONTHS, checked equal by
    tests/test_clv_step.py). -#}
{% macro clv_wide_horizons_months() -%}
    {{ return([12, 36]) }}
{%- endmacro %}
