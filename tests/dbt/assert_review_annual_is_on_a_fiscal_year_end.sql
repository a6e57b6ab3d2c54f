-- An annual review is frozen at the end of a fiscal year: its review date is the last
-- day of the fiscal year it is named after (set var review_date accordingly).
select *
from {{ ref('int_review_identified') }}
where review_type = 'annual'
    and not is_fiscal_year_end
