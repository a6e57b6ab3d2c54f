"""The CLV step: between the two dbt builds, fit and score CLV outside dbt, on any engine.

dbt builds everything up to the RFM summary (int_customer_rfm_summarized); this step reads
that relation through the engine of the dbt target (segmentation.engines), fits BG/NBD and
Gamma-Gamma on the review and the calibration summaries, scores every customer and writes
four tables into the schema `clv`; dbt then builds the rest, reading them as the source
`clv` (models/staging/clv). dbt runs Python models only on some adapters (DuckDB,
Databricks), so the step is plain Python and the statistics have one code path
(segmentation.clv.tables / estimation) for every engine.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from segmentation.clv.relations import (  # noqa: F401 (CLV_INPUT_SELECT, CLV_TABLES: re-exported)
    CLV_INPUT_SELECT,
    CLV_SCHEMA,
    CLV_TABLES,
    CUSTOMER_HORIZON_SCORES,
    CUSTOMER_SCORES,
    HOLDOUT_VALIDATION,
    MODEL_FITS,
    RFM_SCHEMA,
    RFM_TABLE,
)
from segmentation.clv.tables import (
    ClvSettings,
    customer_horizon_table,
    customer_table,
    fit_table,
    fits_from_table,
    holdout_table,
    parse_horizons,
    without_horizon_columns,
)
from segmentation.engines import TableEngine


class ClvStepError(ValueError):
    """The CLV models cannot be fitted on this data; the message names the var to change.

    `results`: the node results of the dbt build that ran before the step (set by
    segmentation.pipeline.dbt_build_with_clv, so a CLI run still records what dbt built)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.results: list = []


@dataclass
class ClvStepResult:
    engine: str
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> str:
        counts = ", ".join(f"{CLV_SCHEMA}.{name} {rows}" for name, rows in self.rows.items())
        return f"CLV scored on {self.engine} in {self.seconds:.1f}s: {counts}"


def clv_settings(dbt_vars: Mapping[str, Any] | None = None) -> ClvSettings:
    """The CLV settings of a build: the vars given to dbt over dbt_project.yml's defaults."""
    from segmentation.dbt_vars import project_defaults

    values = {**project_defaults(), **(dbt_vars or {})}
    return ClvSettings(
        horizons_months=parse_horizons(values["clv_horizons_months"]),
        annual_discount_rate=float(values["clv_annual_discount_rate"]),
    )


def score_clv(rfm: pd.DataFrame, settings: ClvSettings) -> dict[str, pd.DataFrame]:
    """The four CLV tables from the RFM summary (both summary types), by table name.

    Raises ClvStepError when a model cannot be fitted, naming what to change.
    """
    review = _summary(rfm, "review")
    calibration = _summary(rfm, "calibration")
    if not np.any(calibration["frequency"].to_numpy() > 0):
        end = pd.to_datetime(calibration["as_of_date"]).max() if len(calibration) else None
        raise ClvStepError(
            "no repeat buyers in the CLV calibration period"
            + (f" (purchases up to {end.date()})" if end is not None else "")
            + ": the holdout is longer than the history allows; lower the dbt var clv_holdout_weeks "
            "(e.g. --vars '{clv_holdout_weeks: 13}') or load a longer purchase history"
        )
    fits = pd.concat([fit_table(review), fit_table(calibration, fit_period="calibration")], ignore_index=True)
    failed = fits[~fits["converged"].astype(bool)]
    if len(failed):
        row = failed.iloc[0]
        raise ClvStepError(f"CLV model {row['model_name']} ({row['fit_period']} period) could not be fitted: "
                           f"{row['message']}")
    customers = customer_table(review, fits, settings)
    calibration_bgnbd, _ = fits_from_table(fits, "calibration")
    return {
        MODEL_FITS: fits,
        CUSTOMER_SCORES: without_horizon_columns(customers),
        CUSTOMER_HORIZON_SCORES: customer_horizon_table(customers, settings.scored_horizons_months),
        HOLDOUT_VALIDATION: holdout_table(calibration, fit=calibration_bgnbd),
    }


def run_clv_step(engine: TableEngine, settings: ClvSettings) -> ClvStepResult:
    """Read the RFM summary through `engine`, score, write the `clv` tables; the row counts."""
    started = time.monotonic()
    tables = score_clv(engine.read_frame(RFM_SCHEMA, RFM_TABLE), settings)
    result = ClvStepResult(engine.name)
    for name, frame in tables.items():
        engine.write_frame(frame, CLV_SCHEMA, name)
        result.rows[name] = len(frame)
    result.seconds = time.monotonic() - started
    return result


def _summary(rfm: pd.DataFrame, summary_type: str) -> pd.DataFrame:
    # Sorted, so the fits see customers in one order on every engine (the optimiser's sums).
    part = rfm[rfm["summary_type"] == summary_type]
    return part.sort_values("customer_id").reset_index(drop=True)
