"""The CLV tables' behaviour on small hand-made RFM frames (no dbt)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from segmentation.clv.estimation import ClvFitError, simulate_bgnbd
from segmentation.clv.tables import ClvSettings, customer_table, fit_table, holdout_table, parse_horizons

REVIEW = dt.date(2025, 12, 31)


def rfm_frame(frequency, recency, age, margin) -> pd.DataFrame:
    n = len(frequency)
    return pd.DataFrame({
        "customer_id": [f"C{i}" for i in range(n)],
        "as_of_date": pd.Timestamp(REVIEW),
        "frequency": frequency,
        "recency_weeks": recency,
        "age_weeks": age,
        "mean_repeat_margin": margin,
    })


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 4_000
    age = rng.uniform(20, 150, n)
    x, tx, _ = simulate_bgnbd(0.8, 10.0, 0.5, 3.0, age, rng=rng)
    margin = np.where(x > 0, rng.gamma(5.0, 40.0, n), np.nan)
    margin[:25] = np.where(x[:25] > 0, -5.0, margin[:25])  # some repeat customers lose money
    return rfm_frame(x, tx, age, margin)


def test_fit_table_has_both_models_converged_with_a_date(simulated: pd.DataFrame) -> None:
    fits = fit_table(simulated)

    assert list(fits["model_name"]) == ["bgnbd", "gamma_gamma"]
    assert fits["converged"].all()
    assert set(fits["review_date"]) == {REVIEW}
    gamma_gamma = fits.set_index("model_name").loc["gamma_gamma"]
    eligible = (simulated["frequency"] > 0) & (simulated["mean_repeat_margin"] > 0)
    assert gamma_gamma["customers_used"] == eligible.sum()
    assert gamma_gamma["customers_excluded"] == ((simulated["frequency"] > 0) & ~eligible).sum() > 0


def test_no_repeat_customers_is_a_failed_fit_with_a_reason_not_a_crash() -> None:
    fits = fit_table(rfm_frame([0, 0, 0], [0, 0, 0], [10, 20, 30], [np.nan] * 3))

    assert not fits["converged"].any()
    assert "no repeat customers" in fits.set_index("model_name").loc["bgnbd", "message"]
    with pytest.raises(ClvFitError, match="bgnbd is not usable"):
        customer_table(rfm_frame([0], [0], [10], [np.nan]), fits, ClvSettings())


def test_customer_values_are_finite_non_negative_and_flag_special_cases(simulated: pd.DataFrame) -> None:
    table = customer_table(simulated, fit_table(simulated), ClvSettings(horizons_months=(12, 36)))

    clv = table[["predicted_clv_12m", "predicted_clv_36m"]].to_numpy()
    assert np.isfinite(clv).all() and (clv >= 0).all()
    assert (table["predicted_clv_36m"] >= table["predicted_clv_12m"]).all()
    one_time = table["is_one_time_buyer"]
    assert (table.loc[one_time, "p_alive"] == 1.0).all()
    assert table.loc[one_time, "clv_note"].str.startswith("one_time_buyer").all()
    losing = (simulated["frequency"] > 0) & (simulated["mean_repeat_margin"] <= 0)
    assert table.loc[losing, "clv_note"].str.startswith("non_positive_repeat_margin").all()


def test_customers_left_out_of_gamma_gamma_get_the_population_mean_spend(simulated: pd.DataFrame) -> None:
    fits = fit_table(simulated)
    table = customer_table(simulated, fits, ClvSettings())
    gamma_gamma = fits.set_index("model_name").loc["gamma_gamma"]
    population_mean = gamma_gamma["p"] * gamma_gamma["gamma"] / (gamma_gamma["q"] - 1)

    losing = ((simulated["frequency"] > 0) & (simulated["mean_repeat_margin"] <= 0)).to_numpy()
    assert losing.sum() > 0
    assert np.allclose(table.loc[losing, "expected_margin_per_purchase"], population_mean)
    # Their CLV is that spend times their own (BG/NBD) discounted purchases: positive while alive.
    alive = losing & (table["p_alive"] > 0.01).to_numpy()
    assert alive.any() and (table.loc[alive, "predicted_clv_36m"] > 0).all()
    one_time = table["is_one_time_buyer"].to_numpy()
    assert np.allclose(table.loc[one_time, "expected_margin_per_purchase"], population_mean)


def test_a_higher_discount_rate_lowers_clv(simulated: pd.DataFrame) -> None:
    fits = fit_table(simulated)
    low = customer_table(simulated, fits, ClvSettings(horizons_months=(36,), annual_discount_rate=0.0))
    high = customer_table(simulated, fits, ClvSettings(horizons_months=(36,), annual_discount_rate=0.5))

    assert high["predicted_clv_36m"].sum() < low["predicted_clv_36m"].sum()


def test_holdout_table_buckets_cover_every_customer() -> None:
    rng = np.random.default_rng(5)
    age = rng.uniform(30, 100, 3_000)
    x, tx, holdout = simulate_bgnbd(0.8, 10.0, 0.5, 3.0, age, rng=rng, holdout_length=26.0)
    calibration = rfm_frame(x, tx, age, np.nan).assign(
        holdout_end_date=pd.Timestamp(REVIEW), holdout_purchases=holdout, holdout_weeks=26.0
    )

    table = holdout_table(calibration)

    buckets = table[table["level"] == "bucket"]
    assert buckets["customers"].sum() == len(calibration)
    total = table[table["level"] == "total"].iloc[0]
    assert total["mae_model"] < total["mae_naive"]


@pytest.mark.parametrize(("text", "expected"), [("[12, 36]", (12, 36)), ([6], (6,)), ("24", (24,))])
def test_horizons_parse_from_rendered_vars(text, expected) -> None:
    assert parse_horizons(text) == expected


def test_horizons_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive months"):
        parse_horizons("[0, 12]")
