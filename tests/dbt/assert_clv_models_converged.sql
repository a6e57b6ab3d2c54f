-- Fails when either CLV model could not be fitted or did not converge; the row says why.
select
    model_name,
    message
from {{ ref('clv_model_fit') }}
where not converged
