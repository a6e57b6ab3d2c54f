"""The CLV step outside dbt: what it writes, its settings, its errors, on a real engine (no dbt)."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from segmentation.clv.step import (
    CLV_SCHEMA,
    CLV_TABLES,
    RFM_SCHEMA,
    RFM_TABLE,
    ClvStepError,
    clv_settings,
    run_clv_step,
    score_clv,
)
from segmentation.clv.tables import WIDE_HORIZONS_MONTHS, ClvSettings
from segmentation.engines import table_engine
from segmentation.engines.duckdb import DuckDbTableEngine
from segmentation.errors import explain

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def scored(simulated_rfm_summary: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return score_clv(simulated_rfm_summary, ClvSettings())


def test_the_step_writes_a_fit_per_model_and_period(scored) -> None:
    fits = scored["model_fits"].set_index(["model_name", "fit_period"])

    assert sorted(fits.index) == [("bgnbd", "calibration"), ("bgnbd", "review"),
                                  ("gamma_gamma", "calibration"), ("gamma_gamma", "review")]
    assert fits["converged"].all()
    calibration = fits.loc[("bgnbd", "calibration")]
    review = fits.loc[("bgnbd", "review")]
    # The calibration fit is a fit of its own (other data, other estimate), stored with its
    # parameters and log-likelihood, dated by the data it saw.
    assert np.isfinite(calibration[["r", "alpha", "a", "b", "log_likelihood"]].astype(float)).all()
    assert calibration["log_likelihood"] != review["log_likelihood"]
    assert calibration["fitted_through_date"] < review["fitted_through_date"] == calibration["review_date"]


def test_the_holdout_validation_uses_the_stored_calibration_fit(scored, simulated_rfm_summary) -> None:
    from segmentation.clv.tables import holdout_table

    calibration = simulated_rfm_summary[simulated_rfm_summary["summary_type"] == "calibration"]
    refitted = holdout_table(calibration.sort_values("customer_id").reset_index(drop=True))

    pd.testing.assert_frame_equal(scored["holdout_validation"], refitted)


def test_horizons_follow_the_var_and_always_include_the_wide_marts(simulated_rfm_summary) -> None:
    tables = score_clv(simulated_rfm_summary, clv_settings({"clv_horizons_months": [9, 12, 36]}))
    long = tables["customer_horizon_scores"]
    customers = tables["customer_scores"]

    assert sorted(long["horizon_months"].unique()) == [9, 12, 36]
    assert len(long) == 3 * len(customers)
    by_horizon = long.pivot(index="customer_id", columns="horizon_months", values="predicted_clv")
    assert (by_horizon[9] <= by_horizon[12]).all() and (by_horizon[12] <= by_horizon[36]).all()
    assert (by_horizon[9] < by_horizon[12]).any()

    only_six = score_clv(simulated_rfm_summary, clv_settings({"clv_horizons_months": [6]}))
    assert sorted(only_six["customer_horizon_scores"]["horizon_months"].unique()) == [6, *WIDE_HORIZONS_MONTHS]


def test_a_calibration_window_without_repeat_buyers_names_clv_holdout_weeks(simulated_rfm_summary) -> None:
    rfm = simulated_rfm_summary.copy()
    calibration = rfm["summary_type"] == "calibration"
    rfm.loc[calibration, ["frequency", "recency_weeks"]] = 0  # a holdout as long as the history

    with pytest.raises(ClvStepError) as failure:
        score_clv(rfm, ClvSettings())

    message = explain(failure.value)
    assert "clv_holdout_weeks" in message and "\n" not in message
    assert message.startswith("no repeat buyers in the CLV calibration period (purchases up to 2025-07-02)")


def test_the_step_reads_and_writes_through_the_duckdb_engine(tmp_path, simulated_rfm_summary) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"create schema {RFM_SCHEMA}")
        con.register("rfm", simulated_rfm_summary)
        con.execute(f"create table {RFM_SCHEMA}.{RFM_TABLE} as select * from rfm")

    engine = DuckDbTableEngine(warehouse)
    try:
        result = run_clv_step(engine, ClvSettings())
    finally:
        engine.close()

    with duckdb.connect(str(warehouse), read_only=True) as con:
        counts = {name: con.sql(f"select count(*) from {CLV_SCHEMA}.{name}").fetchone()[0] for name in CLV_TABLES}
        types = dict(con.sql(f"select column_name, data_type from information_schema.columns "
                             f"where table_schema = '{CLV_SCHEMA}' and table_name = 'model_fits'").fetchall())
    assert counts == result.rows
    assert counts["customer_scores"] == (simulated_rfm_summary["summary_type"] == "review").sum()
    assert types["review_date"] == "DATE" and types["log_likelihood"] == "DOUBLE"


def test_the_engine_follows_the_dbt_target(monkeypatch, tmp_path) -> None:
    from segmentation.config import Settings

    settings = Settings.from_env({"SEGMENTATION_DATA_DIR": str(tmp_path)})
    monkeypatch.setenv("SEGMENTATION_DBT_TARGET", "duckdb")
    assert table_engine(settings).name == "duckdb"
    with pytest.raises(ValueError, match="SEGMENTATION_DBT_TARGET must be one of"):
        table_engine(settings, "bigquery")


def test_the_wide_horizons_are_the_ones_customer_clv_has_columns_for() -> None:
    models = yaml.safe_load((PROJECT_DIR / "models/marts/clv/_clv__models.yml").read_text())["models"]
    columns = next(m for m in models if m["name"] == "customer_clv")["columns"]
    contract = sorted(int(m) for c in columns for m in re.findall(r"^predicted_clv_(\d+)m$", c["name"]))
    macro = (PROJECT_DIR / "macros/clv.sql").read_text()

    assert tuple(contract) == WIDE_HORIZONS_MONTHS
    assert f"return({list(WIDE_HORIZONS_MONTHS)})" in macro
