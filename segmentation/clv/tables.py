"""The CLV tables, as pandas frames: what the CLV step (segmentation/clv/step.py) writes.

The step only reads the RFM summary through the engine, calls these functions and writes
their frames, so the logic is tested here without a warehouse and runs the same on every
engine.

Time unit: weeks, as in the RFM summary (int_customer_rfm_summarized). Values: gross margin
per purchase day, so predicted CLV is expected future gross margin, discounted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from segmentation.clv.estimation import (
    BgNbdFit,
    ClvFitError,
    GammaGammaFit,
    customer_lifetime_value,
    expected_average_value,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    frequency_value_correlation,
    gamma_gamma_eligible,
    holdout_comparison,
    p_alive,
)

WEEKS_PER_YEAR = 365.25 / 7
WEEKS_PER_MONTH = WEEKS_PER_YEAR / 12
TIME_UNIT = "week"


# The horizons customer_clv has columns for (its enforced contract lists them): always
# scored, whatever clv_horizons_months says. Other horizons are in customer_clv_horizons.
WIDE_HORIZONS_MONTHS = (12, 36)


@dataclass(frozen=True)
class ClvSettings:
    horizons_months: tuple[int, ...] = (12, 36)
    annual_discount_rate: float = 0.10

    @property
    def scored_horizons_months(self) -> tuple[int, ...]:
        """The var's horizons and the wide mart's, each once, in order."""
        return tuple(sorted(set(self.horizons_months) | set(WIDE_HORIZONS_MONTHS)))


FIT_COLUMNS = [
    "model_name", "fit_period", "review_date", "fitted_through_date", "time_unit", "customers_used",
    "customers_excluded", "exclusion_reason",
    "converged", "message", "log_likelihood", "r", "alpha", "a", "b", "p", "q", "gamma",
    "frequency_value_correlation",
]


def fit_table(rfm: pd.DataFrame, fit_period: str = "review") -> pd.DataFrame:
    """One row per model (bgnbd, gamma_gamma): parameters, log-likelihood, customers used.

    `fit_period` 'review' fits the summary as of the review date; 'calibration' the summary
    as of the calibration end (its review_date is then the holdout's end, the review date,
    and fitted_through_date the calibration end). A model that cannot be fitted (no
    customers, no repeat customers, no convergence) gets a row with converged = false and the
    reason in `message`; a dbt test fails the build on it.
    """
    fitted_through = _single_date(rfm, "as_of_date")
    review_date = fitted_through if fit_period == "review" else _single_date(rfm, "holdout_end_date")
    dates = {"fit_period": fit_period, "review_date": review_date, "fitted_through_date": fitted_through}
    x, tx, age, margin = _rfm_arrays(rfm)
    rows = [_bgnbd_row(x, tx, age, dates), _gamma_gamma_row(x, margin, dates)]
    # Typed, so every engine gets double columns (a parameter is null for the other model).
    return pd.DataFrame(rows, columns=FIT_COLUMNS).astype({name: "float64" for name in _FIT_NUMBERS})


_FIT_NUMBERS = ("log_likelihood", "r", "alpha", "a", "b", "p", "q", "gamma", "frequency_value_correlation")


def _bgnbd_row(x: np.ndarray, tx: np.ndarray, age: np.ndarray, dates: dict) -> dict:
    row = _empty_fit_row("bgnbd", dates)
    if x.size == 0:
        return {**row, "message": "no customers with a completed purchase by the review date"}
    if not np.any(x > 0):
        return {**row, "customers_used": int(x.size),
                "message": "no repeat customers: BG/NBD cannot separate purchase rate from dropout"}
    try:
        fit = fit_bgnbd(x, tx, age)
    except (ClvFitError, ValueError) as exc:
        return {**row, "message": f"BG/NBD fit failed: {exc}"}
    return {**row, "customers_used": fit.n_customers, "converged": fit.converged, "message": fit.message,
            "log_likelihood": fit.log_likelihood, "r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b}


def _gamma_gamma_row(x: np.ndarray, margin: np.ndarray, dates: dict) -> dict:
    row = _empty_fit_row("gamma_gamma", dates)
    eligible = gamma_gamma_eligible(x, np.nan_to_num(margin, nan=0.0))
    excluded = int(np.sum((x > 0) & ~eligible))
    row.update(customers_excluded=excluded,
               exclusion_reason="repeat customers with non-positive mean repeat margin" if excluded else None)
    if not np.any(eligible):
        return {**row, "message": "no repeat customers with positive mean repeat margin"}
    try:
        fit = fit_gamma_gamma(x[eligible], margin[eligible])
    except (ClvFitError, ValueError) as exc:
        return {**row, "message": f"Gamma-Gamma fit failed: {exc}"}
    return {**row, "customers_used": fit.n_customers, "converged": fit.converged, "message": fit.message,
            "log_likelihood": fit.log_likelihood, "p": fit.p, "q": fit.q, "gamma": fit.gamma,
            "frequency_value_correlation": frequency_value_correlation(x[eligible], margin[eligible])}


def _empty_fit_row(model_name: str, dates: dict) -> dict:
    row = dict.fromkeys(FIT_COLUMNS)
    row.update(model_name=model_name, **dates, time_unit=TIME_UNIT, customers_used=0,
               customers_excluded=0, converged=False)
    return row


def customer_table(rfm: pd.DataFrame, fits: pd.DataFrame, settings: ClvSettings) -> pd.DataFrame:
    """Per customer as of the review date: P(alive), expected purchases and CLV per horizon.

    Raises ClvFitError when a model did not converge: the table is never built from a bad fit
    (and never holds NaN or negative CLV).
    """
    bgnbd, gamma_gamma = fits_from_table(fits)
    x, tx, age, margin = _rfm_arrays(rfm)
    eligible = gamma_gamma_eligible(x, np.nan_to_num(margin, nan=0.0))
    # Customers with repeat purchases but non-positive mean margin are left out of the
    # Gamma-Gamma model (its gamma distribution has no room for them). Nothing is learnt
    # about their spend, so they get the population mean, as one-time buyers do
    # (E[M | x = 0] is the population mean); BG/NBD still uses their real frequency.
    excluded = (x > 0) & ~eligible
    spend = np.where(eligible, margin, 0.0)
    value = expected_average_value(gamma_gamma, np.where(eligible, x, 0), spend)

    out = pd.DataFrame({
        "customer_id": rfm["customer_id"].to_numpy(),
        "review_date": _single_date(rfm, "as_of_date"),
        "time_unit": TIME_UNIT,
        "frequency": x.astype(np.int64),
        "recency_weeks": tx,
        "age_weeks": age,
        "mean_repeat_margin": margin,
        "is_one_time_buyer": x == 0,
        "p_alive": p_alive(bgnbd, x, tx, age),
        "expected_margin_per_purchase": value,
    })
    for months in settings.scored_horizons_months:
        horizon = months * WEEKS_PER_MONTH
        out[f"expected_purchases_{months}m"] = expected_purchases(bgnbd, horizon, x, tx, age)
        out[f"predicted_clv_{months}m"] = customer_lifetime_value(
            bgnbd, gamma_gamma, x, tx, age, spend, horizon_periods=horizon, periods_per_year=WEEKS_PER_YEAR,
            annual_discount_rate=settings.annual_discount_rate, average_value=value,
        )
    out["clv_note"] = np.select(
        [excluded, x == 0],
        ["non_positive_repeat_margin: excluded from Gamma-Gamma, population mean margin per purchase",
         "one_time_buyer: BG/NBD gives P(alive) = 1 without a repeat purchase; not evidence of loyalty"],
        default=None,
    )
    return out


def customer_horizon_table(customers: pd.DataFrame, horizons_months: tuple[int, ...]) -> pd.DataFrame:
    """customer_table's horizon columns as rows: one per customer and horizon (months)."""
    parts = [
        pd.DataFrame({
            "customer_id": customers["customer_id"].to_numpy(),
            "review_date": customers["review_date"].to_numpy(),
            "horizon_months": np.full(len(customers), months, dtype=np.int64),
            "expected_purchases": customers[f"expected_purchases_{months}m"].to_numpy(),
            "predicted_clv": customers[f"predicted_clv_{months}m"].to_numpy(),
        })
        for months in horizons_months
    ]
    return pd.concat(parts, ignore_index=True)


def without_horizon_columns(customers: pd.DataFrame) -> pd.DataFrame:
    """customer_table without its per-horizon columns (those go to customer_horizon_table)."""
    horizon = [c for c in customers.columns if c.startswith(("expected_purchases_", "predicted_clv_"))]
    return customers.drop(columns=horizon)


def holdout_table(
    calibration: pd.DataFrame, *, max_bucket: int = 7, fit: BgNbdFit | None = None
) -> pd.DataFrame:
    """Predicted vs actual repeat purchases in the holdout, by calibration frequency bucket,
    with the error of a naive forecast (each customer's calibration rate x / T).

    `fit` is the BG/NBD fit of this calibration summary when already made (fit_table with
    fit_period 'calibration'); otherwise it is fitted here."""
    x, tx, age, _ = _rfm_arrays(calibration)
    if not np.any(x > 0):
        raise ClvFitError("no repeat customers in the calibration period: cannot validate the CLV model")
    fit = fit or fit_bgnbd(x, tx, age)
    holdout_weeks = float(calibration["holdout_weeks"].iloc[0])
    table = holdout_comparison(
        fit, x, tx, age, calibration["holdout_purchases"].to_numpy(dtype=np.float64), holdout_weeks,
        max_bucket=max_bucket,
    )
    table.insert(0, "calibration_end_date", _single_date(calibration, "as_of_date"))
    table.insert(1, "review_date", _single_date(calibration, "holdout_end_date"))
    table.insert(2, "holdout_weeks", holdout_weeks)
    table["calibration_converged"] = fit.converged
    return table


def parse_horizons(value: object) -> tuple[int, ...]:
    """dbt renders a list var into YAML config as text ("[12, 36]"); accept both forms."""
    if isinstance(value, str):
        value = [v for v in value.strip("[]() ").replace(",", " ").split() if v]
    if isinstance(value, int | float):
        value = [value]
    horizons = tuple(int(v) for v in value)  # type: ignore[union-attr]
    if not horizons or any(h <= 0 for h in horizons):
        raise ValueError(f"clv_horizons_months must be positive months, got {value!r}")
    return horizons


def fits_from_table(fits: pd.DataFrame, fit_period: str = "review") -> tuple[BgNbdFit, GammaGammaFit]:
    """The converged fits of one period from fit_table's rows; ClvFitError when not usable."""
    if "fit_period" in fits.columns:
        fits = fits[fits["fit_period"] == fit_period]
    by_name = {row["model_name"]: row for row in fits.to_dict("records")}
    for name in ("bgnbd", "gamma_gamma"):
        row = by_name.get(name)
        if row is None or not row["converged"]:
            reason = "missing" if row is None else row["message"]
            raise ClvFitError(f"CLV model {name} is not usable ({reason}); see clv_model_fit")
    b, g = by_name["bgnbd"], by_name["gamma_gamma"]
    return (
        BgNbdFit(b["r"], b["alpha"], b["a"], b["b"], b["log_likelihood"], int(b["customers_used"]), True, ""),
        GammaGammaFit(g["p"], g["q"], g["gamma"], g["log_likelihood"], int(g["customers_used"]), True, ""),
    )


def _rfm_arrays(rfm: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x = rfm["frequency"].to_numpy(dtype=np.float64)
    tx = rfm["recency_weeks"].to_numpy(dtype=np.float64)
    age = rfm["age_weeks"].to_numpy(dtype=np.float64)
    margin = rfm["mean_repeat_margin"].to_numpy(dtype=np.float64, na_value=np.nan)
    return x, tx, age, margin


def _single_date(frame: pd.DataFrame, column: str):
    """The one date in a column, as a datetime.date (so the warehouse types it DATE)."""
    values = pd.to_datetime(frame[column]).dropna().unique()
    if len(values) > 1:
        raise ValueError(f"expected one {column}, found {len(values)}")
    return pd.Timestamp(values[0]).date() if len(values) else None

