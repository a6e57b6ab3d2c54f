"""Customer lifetime value: BG/NBD purchase counts and Gamma-Gamma spend, fitted by MLE.

Why a small scipy implementation instead of a library: the reference Python package,
``lifetimes``, is archived and no longer maintained (it also depends on autograd), and
its successor ``pymc-marketing`` fits these models as Bayesian models whose default
priors make its MAP point estimates differ from the published maximum-likelihood numbers.
It also pulls in PyMC/PyTensor, a heavy dependency for a dbt + DuckDB warehouse. The models
themselves are a few closed-form formulas, so this module implements them directly with
numpy and scipy, checks them against the published CDNOW results (see tests/test_clv.py),
and keeps every function a plain function that a dbt Python model can call.

Conventions used throughout (as in Fader, Hardie & Lee):

* ``frequency`` (x): number of *repeat* purchases, i.e. purchases after the first one.
  A customer seen once has frequency 0.
* ``recency`` (t_x): time of the last purchase measured from the customer's *first*
  purchase. This is not RFM "time since last purchase": a customer with frequency 0 has
  recency 0 by definition, and the validators reject anything else because that mix-up is
  the most common way to get silently wrong BG/NBD results.
* ``T``: the customer's age, i.e. time from first purchase to the end of the calibration
  period. 0 <= recency <= T.
* All three share ONE time unit (days, weeks, ...) chosen by the caller. The fitted
  ``alpha`` is expressed in that unit, and every ``t`` / ``horizon`` passed to the
  prediction functions must use it too. Nothing here converts units.
* ``monetary_value`` (m): mean value of the *repeat* purchases (the first purchase is
  excluded, as in the Gamma-Gamma note), in the caller's currency.

References: Fader, Hardie & Lee (2005) "Counting your customers the easy way: an
alternative to the Pareto/NBD model", Marketing Science 24(2); Fader, Hardie & Lee (2005)
"RFM and CLV: using iso-value curves for customer base analysis", JMR 42(4); Fader &
Hardie (2013) "The Gamma-Gamma model of monetary value" (note 025).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:  # pandas is only needed by holdout_comparison; keep import time small.
    import pandas as pd

__all__ = [
    "BgNbdFit",
    "ClvFitError",
    "GammaGammaFit",
    "bgnbd_log_likelihood",
    "customer_lifetime_value",
    "expected_average_value",
    "expected_purchases",
    "expected_purchases_new",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "frequency_value_correlation",
    "gamma_gamma_eligible",
    "holdout_comparison",
    "p_alive",
    "simulate_bgnbd",
]

FloatArray = NDArray[np.float64]

# Optimisation happens on log-parameters so positivity is automatic. The box keeps exp()
# finite; a parameter that ends on it means the data cannot identify the model.
_LOG_BOUND = 25.0
# Within this distance of a == 1 the BG/NBD expectation formula is 0/0; see _expected_core.
_A_NEAR_ONE = 1e-6
# CLV evaluates a customers x steps grid; these bound its size (monthly steps over 50 years
# is 600, so the cap only stops accidental daily-steps-over-centuries requests).
_CLV_MAX_STEPS = 10_000
_CLV_CELLS_PER_CHUNK = 2_000_000


class ClvFitError(ValueError):
    """A CLV model cannot be fitted or evaluated on the data given.

    Subclasses ValueError because every cause is the data or parameters handed in (no
    eligible customers, no repeat purchases, invalid CLV inputs, a parameter that makes the
    expectation infinite), so callers that already catch ValueError keep working.
    """


@dataclass(frozen=True)
class BgNbdFit:
    """Maximum-likelihood BG/NBD parameters.

    ``r`` and ``alpha`` are the shape and rate of the gamma distribution of purchase rates
    (alpha is in the caller's time unit); ``a`` and ``b`` are the beta distribution of the
    per-purchase dropout probability. ``log_likelihood`` is the total (not mean) over
    customers, comparable to published values. ``n_customers`` is the number of customers
    represented (the sum of weights when weights were given).
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n_customers: int
    converged: bool
    message: str


@dataclass(frozen=True)
class GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma parameters (p, q, gamma; Fader & Hardie's nu = gamma).

    Transaction values are gamma(p, nu) with nu ~ gamma(q, gamma) across customers; the
    population mean transaction value is p * gamma / (q - 1), finite only when q > 1.
    """

    p: float
    q: float
    gamma: float
    log_likelihood: float
    n_customers: int
    converged: bool
    message: str


# --------------------------------------------------------------------------- validation


def _float_array(name: str, values: ArrayLike) -> FloatArray:
    """Return ``values`` as a float64 array, refusing NaN/inf (they poison sums silently)."""
    arr = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _validate_rfm(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Check BG/NBD inputs and broadcast them to one shape."""
    x = _float_array("frequency", frequency)
    tx = _float_array("recency", recency)
    age = _float_array("T", T)
    try:
        x, tx, age = np.broadcast_arrays(x, tx, age)
    except ValueError as exc:
        raise ValueError("frequency, recency and T must have the same length") from exc
    if np.any(x < 0) or np.any(x != np.floor(x)):
        raise ValueError("frequency must be a non-negative integer count of repeat purchases")
    if np.any(tx < 0) or np.any(age < 0):
        raise ValueError("recency and T must be non-negative")
    # Tiny relative slack: both are often derived from timestamps with float division.
    slack = 1e-9 * np.maximum(age, 1.0)
    if np.any(tx > age + slack):
        raise ValueError("recency must not exceed T (time of last purchase <= customer age)")
    if np.any((x == 0) & (tx > 0)):
        raise ValueError(
            "recency must be 0 when frequency is 0: BG/NBD recency is the time from the first "
            "to the last purchase, not RFM 'time since last purchase'"
        )
    return x.astype(np.float64), np.minimum(tx, age), age.astype(np.float64)


def _validate_weights(weights: ArrayLike | None, n: int) -> FloatArray:
    if weights is None:
        return np.ones(n, dtype=np.float64)
    w = _float_array("weights", weights)
    if w.shape != (n,):
        raise ValueError("weights must have one entry per customer row")
    if np.any(w < 0):
        raise ValueError("weights must be non-negative")
    return w


def _collapse_rows(columns: tuple[FloatArray, ...], weights: FloatArray) -> tuple[FloatArray, ...]:
    """Merge identical rows, summing their weights.

    Real summaries measured in whole days or weeks repeat the same (x, t_x, T) many times,
    and the likelihood of identical rows is identical, so this shrinks the per-iteration
    work from one row per customer to one row per distinct pattern.
    """
    first_rows, inverse = _unique_rows(columns)
    summed = np.bincount(inverse, weights=weights, minlength=first_rows.size)
    keep = summed > 0
    return (*(col[first_rows][keep] for col in columns), summed[keep])


def _unique_rows(columns: tuple[FloatArray, ...]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Index of one representative row per distinct row, and each row's group number.

    Same result as np.unique(np.column_stack(columns), axis=0, return_inverse=True) but a
    lexsort on the columns is several times faster than np.unique's structured-dtype sort
    on a million rows.
    """
    n = columns[0].size
    if n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    order = np.lexsort(columns[::-1])
    changed = np.zeros(n, dtype=bool)
    changed[0] = True
    for col in columns:
        sorted_col = col[order]
        changed[1:] |= sorted_col[1:] != sorted_col[:-1]
    group_sorted = np.cumsum(changed) - 1
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = group_sorted
    return order[changed], inverse


# --------------------------------------------------------------------------- BG/NBD fit


@dataclass(frozen=True)
class _BgNbdData:
    """Sufficient data for the BG/NBD likelihood, pre-split so each evaluation is cheap.

    The gammaln/digamma terms depend on x only, so they are evaluated once per distinct
    x (``ux``, with summed weights ``wx``); only the log(alpha + T) and log(alpha + t_x)
    terms are evaluated per row.
    """

    ux: FloatArray  # distinct frequencies
    wx: FloatArray  # total weight per distinct frequency
    w_total: float
    t0: FloatArray  # T of rows with x == 0
    w0: FloatArray
    xp: FloatArray  # rows with x > 0
    txp: FloatArray
    tp: FloatArray
    wp: FloatArray


def _bgnbd_data(x: FloatArray, tx: FloatArray, age: FloatArray, w: FloatArray) -> _BgNbdData:
    ux, inverse = np.unique(x, return_inverse=True)
    wx = np.bincount(inverse.ravel(), weights=w, minlength=ux.size)
    zero = x == 0
    return _BgNbdData(
        ux=ux,
        wx=wx,
        w_total=float(w.sum()),
        t0=age[zero],
        w0=w[zero],
        xp=x[~zero],
        txp=tx[~zero],
        tp=age[~zero],
        wp=w[~zero],
    )


def _bgnbd_ll_and_grad(params: FloatArray, d: _BgNbdData) -> tuple[float, FloatArray]:
    """Total weighted log-likelihood and its gradient w.r.t. (r, alpha, a, b).

    Per customer (Fader, Hardie & Lee 2005; the A1..A4 split is the one in Hardie's
    "Implementing the BG/NBD model" Excel note):
        A1 = lnG(r+x) - lnG(r) + r ln(alpha)
        A2 = lnG(a+b) + lnG(b+x) - lnG(b) - lnG(a+b+x)
        A3 = -(r+x) ln(alpha+T)
        A4 = ln(a) - ln(b+x-1) - (r+x) ln(alpha+t_x)           (only when x > 0)
        LL = A1 + A2 + ln(exp(A3) + [x>0] exp(A4))
    The last term is written as A3 + softplus(A4 - A3) so it never overflows.
    """
    from scipy import special

    r, alpha, a, b = (float(v) for v in params)
    ux, wx = d.ux, d.wx

    # Terms depending on x only: one evaluation per distinct frequency.
    ll = float(
        wx @ (special.gammaln(r + ux) + special.gammaln(b + ux) - special.gammaln(a + b + ux))
    )
    ll += d.w_total * (
        -special.gammaln(r) + r * math.log(alpha) + special.gammaln(a + b) - special.gammaln(b)
    )
    dr = float(wx @ special.digamma(r + ux)) + d.w_total * (-special.digamma(r) + math.log(alpha))
    dalpha = d.w_total * r / alpha
    psi_ab = special.digamma(a + b)
    psi_abx = special.digamma(a + b + ux)
    da = float(wx @ (psi_ab - psi_abx))
    db = float(wx @ (psi_ab + special.digamma(b + ux) - special.digamma(b) - psi_abx))

    # Customers without repeat purchases: only A3 with x = 0.
    if d.t0.size:
        log_t0 = np.log(alpha + d.t0)
        ll -= r * float(d.w0 @ log_t0)
        dr -= float(d.w0 @ log_t0)
        dalpha -= r * float(d.w0 @ (1.0 / (alpha + d.t0)))

    # Repeat customers: A3 + softplus(A4 - A3); the weight of the "dropped out at t_x"
    # branch is s4 = sigmoid(A4 - A3).
    if d.xp.size:
        rx = r + d.xp
        log_t = np.log(alpha + d.tp)
        log_tx = np.log(alpha + d.txp)
        log_bx1 = np.log(b + d.xp - 1.0)
        diff = math.log(a) - log_bx1 - rx * (log_tx - log_t)
        s4 = special.expit(diff)
        ll += float(d.wp @ (-rx * log_t + np.logaddexp(0.0, diff)))
        dr += float(d.wp @ (-log_t - s4 * (log_tx - log_t)))
        inv_t = 1.0 / (alpha + d.tp)
        inv_tx = 1.0 / (alpha + d.txp)
        dalpha += float(d.wp @ (-rx * inv_t - s4 * rx * (inv_tx - inv_t)))
        da += float(d.wp @ s4) / a
        db -= float(d.wp @ (s4 / (b + d.xp - 1.0)))

    return ll, np.array([dr, dalpha, da, db])


def bgnbd_log_likelihood(
    r: float,
    alpha: float,
    a: float,
    b: float,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    weights: ArrayLike | None = None,
) -> float:
    """Total BG/NBD log-likelihood of the data at the given parameters (all must be > 0)."""
    if min(r, alpha, a, b) <= 0:
        raise ValueError("BG/NBD parameters must all be positive")
    x, tx, age = _validate_rfm(frequency, recency, T)
    x, tx, age = x.ravel(), tx.ravel(), age.ravel()
    w = _validate_weights(weights, x.size)
    ll, _ = _bgnbd_ll_and_grad(np.array([r, alpha, a, b]), _bgnbd_data(x, tx, age, w))
    return ll


def _minimise_log_params(
    objective: Any, start: FloatArray, n_params: int
) -> tuple[FloatArray, bool, str]:
    """Minimise a (value, gradient) objective over log-parameters.

    L-BFGS-B with the analytic gradient does the work; if it reports failure we restart
    from its end point with Nelder-Mead (derivative-free, robust to a bad line search) and
    polish with L-BFGS-B again, so a failed line search near the optimum is not reported
    as a failed fit.
    """
    from scipy import optimize

    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * n_params
    options = {"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9}
    res = optimize.minimize(
        objective, start, jac=True, method="L-BFGS-B", bounds=bounds, options=options
    )
    if not res.success:
        nm = optimize.minimize(
            lambda z: objective(z)[0],
            res.x,
            method="Nelder-Mead",
            options={"maxiter": 4000, "xatol": 1e-9, "fatol": 1e-12},
        )
        res = optimize.minimize(
            objective, nm.x, jac=True, method="L-BFGS-B", bounds=bounds, options=options
        )
    grad = objective(res.x)[1]
    # The objective is a per-customer mean, so this threshold is scale-free.
    converged = bool(res.success) or float(np.max(np.abs(grad))) < 1e-6
    message = str(res.message)
    if np.any(np.abs(res.x) >= _LOG_BOUND - 1e-6):
        converged = False
        message = (
            f"a parameter hit its bound (exp(+-{_LOG_BOUND:g})); "
            f"the model is not identified: {message}"
        )
    return np.exp(res.x), converged, message


def fit_bgnbd(
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    collapse_duplicates: bool = True,
) -> BgNbdFit:
    """Fit BG/NBD by maximum likelihood.

    Inputs are per-customer frequency (repeat purchases), recency (time of last purchase
    since the first) and T (age), all in one time unit of the caller's choice; the fitted
    ``alpha`` is in that unit. ``weights`` are per-row counts (or any non-negative
    weights), so callers may pass pre-aggregated (x, t_x, T) patterns. With
    ``collapse_duplicates`` (the default) identical rows are merged first, which gives the
    same optimum and is much faster on day- or week-granular data.

    Raises ClvFitError when there is nothing to fit or no repeat purchase at all (the
    dropout process is then not identified).
    """
    x, tx, age = _validate_rfm(frequency, recency, T)
    x, tx, age = x.ravel(), tx.ravel(), age.ravel()
    w = _validate_weights(weights, x.size)
    if x.size == 0 or w.sum() <= 0:
        raise ClvFitError("fit_bgnbd needs at least one customer with positive weight")
    if float(w @ x) <= 0:
        raise ClvFitError(
            "fit_bgnbd needs at least one repeat purchase; BG/NBD is not identified otherwise"
        )
    if collapse_duplicates:
        x, tx, age, w = _collapse_rows((x, tx, age), w)
    data = _bgnbd_data(x, tx, age, w)
    scale = data.w_total

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(log_params)
        ll, grad = _bgnbd_ll_and_grad(params, data)
        # Chain rule for log-parameters; divide by total weight so tolerances are per customer.
        return -ll / scale, -(grad * params) / scale

    # Start at r = 1 with alpha matching the observed repeat rate, so the starting point is
    # sensible whatever the time unit; a = b = 1 is a flat dropout prior.
    rate = float(w @ x) / max(float(w @ age), np.finfo(float).tiny)
    start = np.log(np.array([1.0, 1.0 / max(rate, 1e-12), 1.0, 1.0]))
    params, converged, message = _minimise_log_params(objective, start, 4)
    ll, _ = _bgnbd_ll_and_grad(params, data)
    r, alpha, a, b = (float(v) for v in params)
    return BgNbdFit(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        log_likelihood=float(ll),
        n_customers=round(scale),
        converged=converged,
        message=message,
    )


# --------------------------------------------------------------------------- BG/NBD predictions


def _expected_core(
    fit: BgNbdFit, t: FloatArray, x: FloatArray, tx: FloatArray, age: FloatArray
) -> FloatArray:
    """E[X(T, T+t) | x, t_x, T], eq. 10 of Fader, Hardie & Lee (2005), numerically guarded.

    The paper's form is
        (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x) * 2F1(r+x, b+x; a+b+x-1; z)]
        * P(alive),      z = t / (alpha+T+t).
    For large x the power underflows while 2F1 overflows. Euler's transformation
    2F1(A,B;C;z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) turns the product into
        ((alpha+T)/(alpha+T+t))^(a-1) * 2F1(a+b-1-r, a-1; a+b+x-1; z),
    whose parameters no longer grow with x. The (a-1) denominator is a removable
    singularity at a = 1; there we average a +- h, which is exact to O(h^2).
    """
    from scipy import special

    if abs(fit.a - 1.0) < _A_NEAR_ONE:
        h = 1e-4
        lo = _expected_core(_with_a(fit, fit.a - h), t, x, tx, age)
        hi = _expected_core(_with_a(fit, fit.a + h), t, x, tx, age)
        return 0.5 * (lo + hi)

    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    denom = alpha + age + t
    z = t / denom
    one_minus_z = (alpha + age) / denom
    hyp = special.hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)
    bracket = 1.0 - one_minus_z ** (a - 1.0) * hyp
    expected = (a + b + x - 1.0) / (a - 1.0) * bracket * _p_alive_core(fit, x, tx, age)
    if not np.all(np.isfinite(expected)):
        raise ClvFitError(
            "BG/NBD expectation is not finite for some inputs (hypergeometric function "
            "overflow); check the fitted parameters and the prediction horizon"
        )
    # E[X(t)] >= 0 and is 0 at t = 0; tiny negatives are rounding in 1 - (1-z)^(a-1) * 2F1.
    return np.maximum(expected, 0.0)


def _with_a(fit: BgNbdFit, a: float) -> BgNbdFit:
    return BgNbdFit(
        fit.r, fit.alpha, a, fit.b, fit.log_likelihood, fit.n_customers, fit.converged, fit.message
    )


def _p_alive_core(fit: BgNbdFit, x: FloatArray, tx: FloatArray, age: FloatArray) -> FloatArray:
    """P(alive | x, t_x, T) = 1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)).

    Evaluated as sigmoid(-log-ratio) so large ratios give ~0 instead of inf/inf.
    """
    from scipy import special

    r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    repeat = x > 0
    # b + x - 1 > 0 whenever x >= 1; for x == 0 the value is unused, so guard the log.
    safe_bx1 = np.where(repeat, b + x - 1.0, 1.0)
    log_ratio = (
        math.log(a) - np.log(safe_bx1) + (r + x) * (np.log(alpha + age) - np.log(alpha + tx))
    )
    return np.where(repeat, special.expit(-log_ratio), 1.0)


def expected_purchases(
    fit: BgNbdFit, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Expected number of repeat purchases in the next ``t`` time units, per customer.

    Conditional expectation E[X(T, T+t) | x, t_x, T] (Fader, Hardie & Lee 2005, eq. 10).
    ``t`` uses the same time unit as the data the model was fitted on; it broadcasts
    against the customer arrays (pass a column vector for a customers x horizons grid).
    """
    x, tx, age = _validate_rfm(frequency, recency, T)
    horizon = _float_array("t", t)
    if np.any(horizon < 0):
        raise ValueError("t must be non-negative")
    horizon, x, tx, age = np.broadcast_arrays(horizon, x, tx, age)
    return _expected_core(fit, horizon, x, tx, age)


def p_alive(fit: BgNbdFit, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> FloatArray:
    """Probability that each customer is still active at the end of calibration.

    This is exactly 1 for every customer with frequency 0. That is a property of the
    BG/NBD model, not a finding: dropout can only happen right after a repeat purchase,
    so someone who never came back has had no chance to drop out in the model's eyes.
    Do not read p_alive == 1 for one-time buyers as "safe"; use expected_purchases for
    ranking them, which does fall with T.
    """
    x, tx, age = _validate_rfm(frequency, recency, T)
    return _p_alive_core(fit, x, tx, age)


def expected_purchases_new(fit: BgNbdFit, t: ArrayLike) -> FloatArray:
    """Unconditional E[X(t)]: expected repeat purchases in (0, t] for a brand-new customer.

    E[X(t)] = (a+b-1)/(a-1) * [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))],
    which is the conditional expectation at x = t_x = T = 0. Useful as a naive benchmark
    and to check the fit against cumulative repeat sales.
    """
    horizon = _float_array("t", t)
    if np.any(horizon < 0):
        raise ValueError("t must be non-negative")
    zeros = np.zeros_like(horizon)
    return _expected_core(fit, horizon, zeros, zeros, zeros)


def simulate_bgnbd(
    r: float,
    alpha: float,
    a: float,
    b: float,
    T: ArrayLike,
    *,
    rng: np.random.Generator,
    holdout_length: float = 0.0,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Simulate BG/NBD customers; returns (frequency, recency, holdout_purchases).

    Each customer gets lambda ~ Gamma(r, rate alpha) and p ~ Beta(a, b), makes purchases
    as a Poisson(lambda) process from a first purchase at time 0, and after each *repeat*
    purchase drops out with probability p. Calibration covers (0, T]; holdout purchases
    are those in (T, T + holdout_length]. Used by the tests (parameter recovery) and for
    benchmarking; ``T`` and ``holdout_length`` share the time unit of ``alpha``.
    """
    age = _float_array("T", T).ravel()
    if np.any(age < 0) or holdout_length < 0:
        raise ValueError("T and holdout_length must be non-negative")
    n = age.size
    lam = rng.gamma(shape=r, scale=1.0 / alpha, size=n)
    drop = rng.beta(a, b, size=n)
    # The customer is gone after their k-th repeat purchase, k ~ Geometric(p).
    last_allowed = rng.geometric(drop)
    end = age + holdout_length
    # Given N arrivals in (0, end], the arrival times are sorted uniforms on (0, end].
    counts = rng.poisson(lam * end)
    owner = np.repeat(np.arange(n), counts)
    times = rng.uniform(0.0, 1.0, size=owner.size) * end[owner]
    order = np.lexsort((times, owner))
    owner, times = owner[order], times[order]
    starts = np.cumsum(counts) - counts
    rank = np.arange(owner.size) - starts[owner] + 1
    alive = rank <= last_allowed[owner]
    in_calib = alive & (times <= age[owner])
    in_holdout = alive & (times > age[owner])
    frequency = np.bincount(owner[in_calib], minlength=n).astype(np.float64)
    recency = np.zeros(n)
    np.maximum.at(recency, owner[in_calib], times[in_calib])
    holdout = np.bincount(owner[in_holdout], minlength=n).astype(np.float64)
    return frequency, recency, holdout


# --------------------------------------------------------------------------- Gamma-Gamma


def gamma_gamma_eligible(frequency: ArrayLike, monetary_value: ArrayLike) -> NDArray[np.bool_]:
    """Rows the Gamma-Gamma model may be fitted on: frequency > 0 and monetary_value > 0.

    One-time buyers carry no repeat-spend observation, and zero or negative averages are
    outside the gamma support (their log-density is -inf), so both must be excluded.
    """
    x = np.asarray(frequency, dtype=np.float64)
    m = np.asarray(monetary_value, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.isfinite(x) & np.isfinite(m) & (x > 0) & (m > 0)


@dataclass(frozen=True)
class _GammaGammaData:
    """Sufficient data for the Gamma-Gamma likelihood (x-only terms summed per distinct x)."""

    ux: FloatArray  # distinct frequencies
    wx: FloatArray  # customers per distinct frequency
    n: float
    x: FloatArray
    xm: FloatArray  # x * m, the customer's total repeat spend
    s1: float  # sum of x * (ln m + ln x)
    s0: float  # sum of ln m


def _gamma_gamma_data(x: FloatArray, m: FloatArray) -> _GammaGammaData:
    ux, inverse = np.unique(x, return_inverse=True)
    return _GammaGammaData(
        ux=ux,
        wx=np.bincount(inverse.ravel(), minlength=ux.size).astype(np.float64),
        n=float(x.size),
        x=x,
        xm=x * m,
        s1=float(x @ (np.log(m) + np.log(x))),
        s0=float(np.log(m).sum()),
    )


def _gamma_gamma_ll_and_grad(params: FloatArray, d: _GammaGammaData) -> tuple[float, FloatArray]:
    """Total Gamma-Gamma log-likelihood and gradient w.r.t. (p, q, gamma).

    Per customer (Fader & Hardie, note 025, eq. 1a):
        lnG(px+q) - lnG(px) - lnG(q) + q ln(gamma) + (px-1) ln(m) + px ln(x)
        - (px+q) ln(gamma + x m)
    The gammaln/digamma terms depend on x only and are summed per distinct x.
    """
    from scipy import special

    p, q, gam = (float(v) for v in params)
    ux, wx, n, x = d.ux, d.wx, d.n, d.x
    px_q = p * ux + q
    log_gx = np.log(gam + d.xm)
    ll = float(wx @ (special.gammaln(px_q) - special.gammaln(p * ux)))
    ll += n * (q * math.log(gam) - special.gammaln(q)) + p * d.s1 - d.s0
    ll -= float((p * x + q) @ log_gx)
    dp = (
        float(wx @ (ux * (special.digamma(px_q) - special.digamma(p * ux))))
        + d.s1
        - float(x @ log_gx)
    )
    dq = (
        float(wx @ special.digamma(px_q))
        - n * special.digamma(q)
        + n * math.log(gam)
        - float(log_gx.sum())
    )
    dg = n * q / gam - float(((p * x + q) / (gam + d.xm)).sum())
    return ll, np.array([dp, dq, dg])


def fit_gamma_gamma(frequency: ArrayLike, monetary_value: ArrayLike) -> GammaGammaFit:
    """Fit the Gamma-Gamma spend model by maximum likelihood.

    Pass ONLY repeat customers: frequency > 0 and monetary_value > 0, where
    monetary_value is the mean value of the repeat purchases. The fit raises ValueError if
    any row is ineligible (filter with ``gamma_gamma_eligible`` first; silently dropping
    rows would hide a wrong join upstream) and ClvFitError if no eligible row remains.
    """
    x = np.asarray(frequency, dtype=np.float64).ravel()
    m = np.asarray(monetary_value, dtype=np.float64).ravel()
    if x.shape != m.shape:
        raise ValueError("frequency and monetary_value must have the same length")
    eligible = gamma_gamma_eligible(x, m)
    if not np.any(eligible):
        raise ClvFitError(
            "fit_gamma_gamma found no eligible customers (frequency > 0 and monetary_value > 0)"
        )
    if not np.all(eligible):
        raise ValueError(
            f"fit_gamma_gamma got {int((~eligible).sum())} ineligible rows: the model is fitted "
            "only on repeat customers with frequency > 0 and monetary_value > 0 (finite); "
            "filter them with gamma_gamma_eligible() first"
        )
    if np.any(x != np.floor(x)):
        raise ValueError("frequency must be an integer count of repeat purchases")
    data = _gamma_gamma_data(x, m)
    n = data.n

    def objective(log_params: FloatArray) -> tuple[float, FloatArray]:
        params = np.exp(log_params)
        ll, grad = _gamma_gamma_ll_and_grad(params, data)
        return -ll / n, -(grad * params) / n

    # p = 1, q = 2 and gamma at the sample mean spend start the population mean
    # p*gamma/(q-1) at the observed mean, whatever the currency unit.
    start = np.log(np.array([1.0, 2.0, max(float(m.mean()), 1e-12)]))
    params, converged, message = _minimise_log_params(objective, start, 3)
    ll, _ = _gamma_gamma_ll_and_grad(params, data)
    p, q, gam = (float(v) for v in params)
    return GammaGammaFit(
        p=p,
        q=q,
        gamma=gam,
        log_likelihood=float(ll),
        n_customers=int(x.size),
        converged=converged,
        message=message,
    )


def expected_average_value(
    fit: GammaGammaFit, frequency: ArrayLike, monetary_value: ArrayLike
) -> FloatArray:
    """Conditional expected average transaction value E[M | x, m] per customer.

    E[M | x, m] = p (gamma + x m) / (p x + q - 1): a credibility-weighted blend of the
    customer's observed mean m and the population mean p*gamma/(q-1), where the weight on
    m grows with x. For frequency 0 the customer's own m is ignored (it may be 0 or NaN) and
    the population mean is returned, since there is no repeat spend to learn from.
    Requires q > 1 (otherwise the population mean is infinite and ClvFitError is raised).
    """
    if fit.q <= 1:
        raise ClvFitError(
            f"Gamma-Gamma q = {fit.q:.4g} <= 1: the expected transaction value is infinite"
        )
    x = _float_array("frequency", frequency)
    m = np.asarray(monetary_value, dtype=np.float64)
    x, m = np.broadcast_arrays(x, m)
    if np.any(x < 0):
        raise ValueError("frequency must be non-negative")
    repeat = x > 0
    if not np.all(np.isfinite(m[repeat])) or np.any(m[repeat] < 0):
        raise ValueError(
            "monetary_value must be finite and non-negative for customers with frequency > 0"
        )
    # Frequency 0: the formula reduces to the population mean, so their m (often a SQL NULL,
    # since a mean over zero repeat purchases is undefined) is never used.
    own = np.where(repeat, m, 0.0)
    return fit.p * (fit.gamma + x * own) / (fit.p * x + fit.q - 1.0)


def frequency_value_correlation(frequency: ArrayLike, monetary_value: ArrayLike) -> float:
    """Pearson correlation of frequency and mean spend over Gamma-Gamma-eligible rows.

    Gamma-Gamma assumes spend is independent of purchase frequency; callers should report
    this number next to any CLV (Fader & Hardie find 0.11 on CDNOW and call that fine).
    Returns NaN when fewer than two eligible rows exist or either variable is constant.
    """
    x = np.asarray(frequency, dtype=np.float64).ravel()
    m = np.asarray(monetary_value, dtype=np.float64).ravel()
    keep = gamma_gamma_eligible(x, m)
    x, m = x[keep], m[keep]
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(m) == 0:
        return float("nan")
    return float(np.corrcoef(x, m)[0, 1])


# --------------------------------------------------------------------------- CLV


def _clv_grid(horizon_periods: float, step_periods: float) -> FloatArray:
    """Step ends t_1 < ... < t_n = horizon; the last step is shorter if needed."""
    n_steps = max(1, math.ceil(horizon_periods / step_periods - 1e-9))
    if n_steps > _CLV_MAX_STEPS:
        raise ClvFitError(
            f"horizon_periods / step_periods gives {n_steps} steps (max {_CLV_MAX_STEPS}); "
            "use a coarser step_periods"
        )
    return np.minimum(np.arange(1, n_steps + 1) * step_periods, horizon_periods)


def _check_clv_settings(
    horizon_periods: float,
    periods_per_year: float,
    annual_discount_rate: float,
    margin_rate: float,
    step_periods: float | None,
) -> float:
    settings = {
        "horizon_periods": horizon_periods,
        "periods_per_year": periods_per_year,
        "annual_discount_rate": annual_discount_rate,
        "margin_rate": margin_rate,
    }
    for name, value in settings.items():
        if not math.isfinite(float(value)):
            raise ClvFitError(f"{name} must be a finite number")
    if horizon_periods <= 0:
        raise ClvFitError("horizon_periods must be > 0")
    if periods_per_year <= 0:
        raise ClvFitError("periods_per_year must be > 0")
    if annual_discount_rate < 0:
        raise ClvFitError("annual_discount_rate must be >= 0 (e.g. 0.10 for 10% a year)")
    if not 0 <= margin_rate <= 1:
        raise ClvFitError("margin_rate must be between 0 and 1 (share of revenue kept as profit)")
    step = periods_per_year / 12.0 if step_periods is None else float(step_periods)
    if not math.isfinite(step) or step <= 0:
        raise ClvFitError("step_periods must be a finite number > 0")
    return step


def customer_lifetime_value(
    bgnbd: BgNbdFit,
    gg: GammaGammaFit,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    *,
    horizon_periods: float,
    periods_per_year: float,
    annual_discount_rate: float,
    margin_rate: float = 1.0,
    step_periods: float | None = None,
    average_value: ArrayLike | None = None,
) -> FloatArray:
    """Discounted expected margin per customer over a finite horizon.

    ``average_value`` replaces E[M | x, m] per customer when given (e.g. the population mean
    for customers the Gamma-Gamma model leaves out); BG/NBD still uses their frequency.

    All time arguments use the unit the BG/NBD model was fitted in ("periods"), with
    ``periods_per_year`` saying how many of them make a year (52 for weeks, 365 for days).
    The horizon is cut into steps of ``step_periods`` (default: one month, i.e.
    periods_per_year / 12) ending at t_1 < ... < t_n = horizon_periods, and

        CLV = margin_rate * E[M | x, m] * sum_i (E[X(t_i)] - E[X(t_{i-1})])
              / (1 + annual_discount_rate) ** (t_i / periods_per_year)

    where E[X(t)] is the BG/NBD conditional expected purchases (``expected_purchases``),
    t_0 = 0, and E[M | x, m] the Gamma-Gamma expected average value
    (``expected_average_value``; the population mean for frequency 0). Purchases within a
    step are discounted to the step's end, the common practice (e.g. lifetimes'
    ``customer_lifetime_value``); shorter steps discount more precisely.

    The result is finite and >= 0 for every customer; invalid inputs or settings raise
    ClvFitError instead of producing NaN or negative values.
    """
    try:
        step = _check_clv_settings(
            horizon_periods, periods_per_year, annual_discount_rate, margin_rate, step_periods
        )
        x, tx, age = _validate_rfm(frequency, recency, T)
        x, tx, age = x.ravel(), tx.ravel(), age.ravel()
        m = np.asarray(monetary_value, dtype=np.float64).ravel()
        if m.shape != x.shape:
            raise ValueError("monetary_value must have one entry per customer")
        value = expected_average_value(gg, x, m) if average_value is None else (
            np.asarray(average_value, dtype=np.float64).ravel()
        )
        if value.shape != x.shape or not np.all(np.isfinite(value)) or np.any(value < 0):
            raise ValueError("average_value must be finite, non-negative, one entry per customer")
    except ClvFitError:
        raise
    except ValueError as exc:
        raise ClvFitError(f"customer_lifetime_value: {exc}") from exc

    grid = _clv_grid(float(horizon_periods), step)
    discount = (1.0 + annual_discount_rate) ** (grid / periods_per_year)
    clv = margin_rate * value * _discounted_purchases(bgnbd, grid, discount, x, tx, age)
    if not np.all(np.isfinite(clv)) or np.any(clv < 0):
        raise ClvFitError(
            "customer_lifetime_value produced a non-finite or negative value; check the fits"
        )
    return clv


def _discounted_purchases(
    fit: BgNbdFit,
    grid: FloatArray,
    discount: FloatArray,
    x: FloatArray,
    tx: FloatArray,
    age: FloatArray,
) -> FloatArray:
    """sum_i (E[X(t_i)] - E[X(t_{i-1})]) / discount_i for every customer.

    Identical (x, t_x, T) rows have identical paths, so each distinct pattern is computed
    once, in chunks that bound the patterns x steps matrix to a few million cells.
    """
    first_rows, inverse = _unique_rows((x, tx, age))
    px, ptx, page = (col[first_rows] for col in (x, tx, age))
    out = np.empty(first_rows.size)
    chunk = max(1, _CLV_CELLS_PER_CHUNK // grid.size)
    for start in range(0, first_rows.size, chunk):
        part = slice(start, start + chunk)
        cumulative = _expected_core(
            fit, grid[None, :], px[part, None], ptx[part, None], page[part, None]
        )
        increments = np.diff(cumulative, axis=1, prepend=0.0)
        # E[X(t)] is non-decreasing in t; clip rounding noise so no step subtracts value.
        out[part] = (np.maximum(increments, 0.0) / discount).sum(axis=1)
    return out[inverse]


# --------------------------------------------------------------------------- holdout check


def holdout_comparison(
    fit: BgNbdFit,
    calib_frequency: ArrayLike,
    calib_recency: ArrayLike,
    calib_T: ArrayLike,
    holdout_actual: ArrayLike,
    holdout_length: ArrayLike,
    *,
    max_bucket: int = 7,
) -> pd.DataFrame:
    """Compare predicted and actual holdout repeat purchases, by calibration frequency.

    Returns one row per calibration-frequency bucket 0..max_bucket (``level`` == "bucket";
    the last bucket, labelled e.g. "7+", holds every customer with frequency >= max_bucket)
    and a final ``level`` == "total" row over all customers. Columns:

    * customers: number of customers in the row;
    * actual_mean / predicted_mean / naive_mean: mean holdout repeat purchases per customer;
    * actual_total / predicted_total / naive_total: the same summed;
    * mae_model / mae_naive: mean absolute error per customer.

    "predicted" is the BG/NBD conditional expectation over ``holdout_length`` (scalar or
    per customer, in the model's time unit). "naive" projects each customer's calibration
    rate x / T over the holdout (0 when T == 0), the baseline a model must beat. Empty
    buckets are kept with customers == 0 and NaN means so the table shape is stable.
    """
    import pandas as pd

    if max_bucket < 1:
        raise ValueError("max_bucket must be >= 1")
    x, tx, age = _validate_rfm(calib_frequency, calib_recency, calib_T)
    x, tx, age = x.ravel(), tx.ravel(), age.ravel()
    actual = _float_array("holdout_actual", holdout_actual).ravel()
    if actual.shape != x.shape:
        raise ValueError("holdout_actual must have one entry per customer")
    if np.any(actual < 0):
        raise ValueError("holdout_actual must be non-negative")
    length = np.broadcast_to(_float_array("holdout_length", holdout_length), x.shape)
    if np.any(length <= 0):
        raise ValueError("holdout_length must be > 0")

    predicted = _expected_core(fit, length, x, tx, age)
    rate = np.divide(x, age, out=np.zeros_like(x), where=age > 0)
    naive = rate * length
    bucket = np.minimum(x, max_bucket).astype(int)

    def summarise(level: str, label: str, mask: NDArray[np.bool_]) -> dict[str, Any]:
        n = int(mask.sum())
        mean = (lambda v: float(v[mask].mean())) if n else (lambda v: float("nan"))
        return {
            "level": level,
            "bucket": label,
            "customers": n,
            "actual_mean": mean(actual),
            "predicted_mean": mean(predicted),
            "naive_mean": mean(naive),
            "actual_total": float(actual[mask].sum()),
            "predicted_total": float(predicted[mask].sum()),
            "naive_total": float(naive[mask].sum()),
            "mae_model": mean(np.abs(predicted - actual)),
            "mae_naive": mean(np.abs(naive - actual)),
        }

    rows = [
        summarise("bucket", f"{k}+" if k == max_bucket else str(k), bucket == k)
        for k in range(max_bucket + 1)
    ]
    rows.append(summarise("total", "all", np.ones_like(bucket, dtype=bool)))
    return pd.DataFrame(rows)
