"""Maximum-likelihood BG/NBD and Gamma-Gamma fits on the RFM summary as of the review date
(segmentation.clv.tables.fit_table): one row per model."""

from segmentation.clv.tables import fit_table


def _pandas(relation):
    return relation.df() if hasattr(relation, "df") else relation.toPandas()


def model(dbt, session):
    dbt.config(materialized="table")
    rfm = _pandas(dbt.ref("int_customer_rfm_summarized"))
    rfm = rfm[rfm["summary_type"] == "review"].sort_values("customer_id").reset_index(drop=True)
    return fit_table(rfm)
