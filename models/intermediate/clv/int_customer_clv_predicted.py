"""Predicted CLV per customer with a completed purchase, from the fitted BG/NBD and
Gamma-Gamma models (segmentation.clv.tables.customer_table). Fails the build when a model
did not converge, so no table is ever built on a bad fit."""

from segmentation.clv.tables import ClvSettings, customer_table, parse_horizons


def _pandas(relation):
    # dbt-duckdb hands relations, Spark hands DataFrames: both become pandas here.
    return relation.df() if hasattr(relation, "df") else relation.toPandas()


def model(dbt, session):
    dbt.config(materialized="table")
    meta = dbt.config.get("meta") or {}
    settings = ClvSettings(
        horizons_months=parse_horizons(meta.get("clv_horizons_months", "[12, 36]")),
        annual_discount_rate=float(meta.get("clv_annual_discount_rate", 0.10)),
    )
    rfm = _pandas(dbt.ref("int_customer_rfm_summarized"))
    rfm = rfm[rfm["summary_type"] == "review"].sort_values("customer_id").reset_index(drop=True)
    fits = _pandas(dbt.ref("clv_model_fit"))
    return customer_table(rfm, fits, settings)
