{#- True when two money amounts differ by more than rounding: a cent, or one billionth
    (1e-9) of the larger amount, whichever is larger. Totals are sums of double-precision
    amounts, whose last digits depend on summation order (threads, row order): at 1M
    customers totals of ~1.2e8 differed by 0.028 between two sums of the same rows. The
    relative part (0.12 at 1.2e8) stays well above that rounding (about n x 1e-16 of the
    total for n terms) and far below any real allocation error, which moves whole amounts.
    Conservation is therefore checked within a tolerance that scales with the total, not
    exactly. -#}
{% macro amounts_differ(left, right) -%}
    abs(({{ left }}) - ({{ right }})) > greatest(0.01, 1e-9 * greatest(abs({{ left }}), abs({{ right }})))
{%- endmacro %}
