-- Fails (returns rows) for any entity where a landing record went missing between the
-- file, the raw table and the clean/quarantined split.
select *
from {{ ref('audit_row_reconciliation') }}
where not is_reconciled
