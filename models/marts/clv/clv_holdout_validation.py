"""BG/NBD fitted on the calibration period, checked on the holdout weeks that follow:
predicted vs actual repeat purchases per calibration-frequency bucket, with a naive
forecast's error for comparison (segmentation.clv.tables.holdout_table)."""

from segmentation.clv.tables import holdout_table


def _pandas(relation):
    return relation.df() if hasattr(relation, "df") else relation.toPandas()


def model(dbt, session):
    dbt.config(materialized="table")
    rfm = _pandas(dbt.ref("int_customer_rfm_summarized"))
    calibration = rfm[rfm["summary_type"] == "calibration"].sort_values("customer_id").reset_index(drop=True)
    return holdout_table(calibration)
