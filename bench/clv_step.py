"""The CLV step at scale: collect the RFM summary into pandas, fit, score, write back.

Measures whether scoring in pandas after collecting the summary (segmentation/clv/step.py)
is fine at 1M customers, against the same work done with lifetimes in the same run:
BG/NBD + Gamma-Gamma fits on the review summary, a BG/NBD fit on the calibration summary,
P(alive), expected purchases and discounted CLV at 12 and 36 months per customer.
Target: the whole step (read + fits + scores + write) <= 0.2x lifetimes' fits and scores.

The summary is simulated from BG/NBD (review rows and 26-week calibration rows, ages in
whole days as the warehouse has them) and stored as intermediate.int_customer_rfm_summarized
in a scratch DuckDB file, so no 1M-customer warehouse is built.

    python bench/clv_step.py --customers 1000000 --out /work/scratch/clvstep
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from segmentation.clv.estimation import gamma_gamma_eligible, simulate_bgnbd
from segmentation.clv.step import RFM_SCHEMA, RFM_TABLE, run_clv_step, score_clv
from segmentation.clv.tables import WEEKS_PER_MONTH, ClvSettings
from segmentation.engines.duckdb import DuckDbTableEngine

TARGET_RATIO = 0.2
HOLDOUT_WEEKS = 26.0


def simulated_summary(customers: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = np.floor(rng.uniform(200, 3 * 365, customers)) / 7  # whole days, in weeks
    parts = []
    for summary_type, as_of_age in (("review", age), ("calibration", age - HOLDOUT_WEEKS)):
        x, tx, holdout = simulate_bgnbd(0.25, 4.4, 0.8, 2.4, as_of_age, rng=rng, holdout_length=HOLDOUT_WEEKS)
        tx = np.floor(tx * 7) / 7
        margin = np.where(x > 0, rng.gamma(6.0, 15.0, customers), np.nan)
        parts.append(pd.DataFrame({
            "summary_type": summary_type,
            "customer_id": [f"C{i:08d}" for i in range(customers)],
            "as_of_date": pd.Timestamp("2025-12-31") - (pd.Timedelta(weeks=HOLDOUT_WEEKS)
                                                        if summary_type == "calibration" else pd.Timedelta(0)),
            "holdout_end_date": pd.Timestamp("2025-12-31") if summary_type == "calibration" else pd.NaT,
            "frequency": x.astype(np.int64), "recency_weeks": tx, "age_weeks": as_of_age,
            "mean_repeat_margin": margin,
            "holdout_purchases": holdout if summary_type == "calibration" else np.nan,
            "holdout_weeks": HOLDOUT_WEEKS if summary_type == "calibration" else np.nan,
        }))
    return pd.concat(parts, ignore_index=True)


def lifetimes_seconds(rfm: pd.DataFrame) -> float | None:
    try:
        from lifetimes import BetaGeoFitter, GammaGammaFitter
    except ImportError:
        return None
    review = rfm[rfm["summary_type"] == "review"]
    calibration = rfm[rfm["summary_type"] == "calibration"]
    x, tx, age = (review[c].to_numpy(np.float64) for c in ("frequency", "recency_weeks", "age_weeks"))
    margin = review["mean_repeat_margin"].fillna(0).to_numpy()
    eligible = gamma_gamma_eligible(x, margin)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bg = BetaGeoFitter().fit(x, tx, age)
        gg = GammaGammaFitter().fit(x[eligible], margin[eligible])
        BetaGeoFitter().fit(*(calibration[c].to_numpy(np.float64) for c in ("frequency", "recency_weeks", "age_weeks")))
        bg.conditional_probability_alive(x, tx, age)
        for months in (12, 36):
            bg.conditional_expected_number_of_purchases_up_to_time(months * WEEKS_PER_MONTH, x, tx, age)
            gg.customer_lifetime_value(
                bg, pd.Series(x), pd.Series(tx), pd.Series(age), pd.Series(np.where(eligible, margin, 0.0)),
                time=months, discount_rate=(1.10 ** (1 / 12)) - 1, freq="W",
            )
    return time.perf_counter() - started


def measure(customers: int, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    warehouse = out / f"clv_step_{customers}.duckdb"
    warehouse.unlink(missing_ok=True)
    rfm = simulated_summary(customers)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"create schema {RFM_SCHEMA}")
        con.register("rfm", rfm)
        con.execute(f"create table {RFM_SCHEMA}.{RFM_TABLE} as select * from rfm")

    engine = DuckDbTableEngine(warehouse)
    try:
        started = time.perf_counter()
        collected = engine.read_frame(RFM_SCHEMA, RFM_TABLE)
        read_s = time.perf_counter() - started
        started = time.perf_counter()
        score_clv(collected, ClvSettings())
        score_s = time.perf_counter() - started
        whole = run_clv_step(engine, ClvSettings())
    finally:
        engine.close()
    theirs = lifetimes_seconds(rfm)
    result = {
        "customers": customers, "read_s": read_s, "fit_and_score_s": score_s, "step_s": whole.seconds,
        "rows_written": whole.rows, "lifetimes_s": theirs,
    }
    if theirs:
        result["ratio"] = whole.seconds / theirs
        result["target_met"] = result["ratio"] <= TARGET_RATIO
    warehouse.unlink(missing_ok=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("data/bench"))
    args = parser.parse_args()
    print(json.dumps(measure(args.customers, args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
