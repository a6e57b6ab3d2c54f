"""Our BG/NBD + Gamma-Gamma fit against lifetimes' on the same RFM summary.

The summary is the warehouse's own (intermediate.int_customer_rfm_summarized, review rows:
frequency, recency and age in weeks, mean repeat margin), so at 1M customers it is the
1M-customer summary the pipeline fits. Both fits get every row as it is (no collapsing by
the caller; ours collapses duplicates internally, which is part of what is measured).
Target: ours <= 0.2x lifetimes' time, parameters equal to 6 significant digits.

lifetimes (0.11.3, archived in 2020) is a bench-only extra: `pip install -e '.[bench]'`.
It runs unchanged on numpy 2.4 / pandas 3.1 / scipy 1.17; without it the comparison is
reported as skipped.

    python bench/clv_vs_lifetimes.py --warehouse FILE
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

from segmentation.clv.estimation import fit_bgnbd, fit_gamma_gamma, gamma_gamma_eligible

SIGNIFICANT_DIGITS = 6


def read_summary(warehouse: Path) -> dict[str, np.ndarray]:
    query = """
        select frequency, recency_weeks, age_weeks, coalesce(mean_repeat_margin, 0) as monetary
        from intermediate.int_customer_rfm_summarized
        where summary_type = 'review'
        order by customer_id
    """
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = con.execute(query).fetchnumpy()
    return {name: np.asarray(values, dtype=np.float64) for name, values in columns.items()}


def same_to_digits(ours: float, theirs: float, digits: int = SIGNIFICANT_DIGITS) -> bool:
    return abs(ours - theirs) <= 0.5 * 10 ** (1 - digits) * max(abs(ours), abs(theirs))


def compare(summary: dict[str, np.ndarray]) -> dict:
    x, tx, age, monetary = summary["frequency"], summary["recency_weeks"], summary["age_weeks"], summary["monetary"]
    eligible = gamma_gamma_eligible(x, monetary)
    warm = slice(0, 2000)  # first calls pay for imports and caches; time the fits, not those
    fit_bgnbd(x[warm], tx[warm], age[warm])

    started = time.perf_counter()
    bgnbd = fit_bgnbd(x, tx, age)
    gamma_gamma = fit_gamma_gamma(x[eligible], monetary[eligible])
    ours_seconds = time.perf_counter() - started
    result = {
        "customers": len(x),
        "repeat_customers": int(eligible.sum()),
        "ours_seconds": ours_seconds,
        "ours_params": {
            "r": bgnbd.r,
            "alpha": bgnbd.alpha,
            "a": bgnbd.a,
            "b": bgnbd.b,
            "p": gamma_gamma.p,
            "q": gamma_gamma.q,
            "v": gamma_gamma.gamma,
        },
    }
    try:
        from lifetimes import BetaGeoFitter, GammaGammaFitter
    except ImportError:
        result["lifetimes"] = "not installed (pip install -e '.[bench]')"
        return result

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        BetaGeoFitter(penalizer_coef=0.0).fit(x[warm], tx[warm], age[warm])
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bg = BetaGeoFitter(penalizer_coef=0.0).fit(x, tx, age)
        gg = GammaGammaFitter(penalizer_coef=0.0).fit(x[eligible], monetary[eligible])
    lifetimes_seconds = time.perf_counter() - started
    theirs = {**{k: float(v) for k, v in bg.params_.items()}, **{k: float(v) for k, v in gg.params_.items()}}
    result |= {
        "lifetimes_seconds": lifetimes_seconds,
        "lifetimes_params": theirs,
        "time_ratio": ours_seconds / lifetimes_seconds,
        "params_equal_6_digits": all(same_to_digits(result["ours_params"][k], theirs[k]) for k in theirs),
        "max_relative_param_difference": max(
            abs(result["ours_params"][k] - theirs[k]) / abs(theirs[k]) for k in theirs
        ),
    }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warehouse", type=Path, required=True, help="a built working warehouse")
    args = parser.parse_args()
    print(json.dumps(compare(read_summary(args.warehouse))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
