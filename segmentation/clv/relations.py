"""The CLV step's relations by name (no numpy or pandas here: Dagster's definitions import it).

It reads one dbt model, whose name and columns are its input contract, and writes the tables
of the source `clv` (models/staging/clv/_clv__sources.yml).
"""

RFM_SCHEMA, RFM_TABLE = "intermediate", "int_customer_rfm_summarized"
# The dbt selection that builds the step's input: the first of the two dbt builds.
CLV_INPUT_SELECT = f"+{RFM_TABLE}"
CLV_SCHEMA = "clv"
MODEL_FITS, CUSTOMER_SCORES, CUSTOMER_HORIZON_SCORES, HOLDOUT_VALIDATION = (
    "model_fits", "customer_scores", "customer_horizon_scores", "holdout_validation",
)
CLV_TABLES = (MODEL_FITS, CUSTOMER_SCORES, CUSTOMER_HORIZON_SCORES, HOLDOUT_VALIDATION)
