"""Synthetic sample data for the customer service segmentation warehouse.

The generator writes the landing files described by the raw data contract
(``models/staging/landing/_landing__sources.yml``) plus a ``ground_truth`` folder that
records what was drawn: each customer's latent value class and behaviour parameters, and
every row that was deliberately broken (``injected_defects.csv``). Tests and docs compare
what the warehouse computes with that ground truth.

How the data is built:

* Every customer belongs to a latent *value class* (platinum, gold, silver, bronze,
  negative). The class fixes the customer's economics (purchase rate, order value,
  discounts, returns, support load, churn, service plan, account manager) with moderate
  per-customer noise, so value per year differs several-fold between classes and the
  classes can be recovered from the data.
* A customer places a (larger) first order right after signup, then repeat orders spread
  over the time until the dropout date (one-time buyers never return); the counts are a
  little more regular than Poisson. Tickets follow a Poisson process plus an onboarding
  burst in the first 30 days, mostly in the customer's preferred channel.
* Customers are generated in chunks (``GeneratorConfig.chunk_customers``) with one
  ``SeedSequence`` child per chunk, so memory is bounded and the output is byte-identical
  for a given configuration. Everything is vectorised with numpy; files are written by
  DuckDB ``COPY`` from the numpy arrays.
"""

from __future__ import annotations

import datetime
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

__all__ = ["ENTITIES", "GenerationSummary", "GeneratorConfig", "generate"]


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate. The same configuration always produces byte-identical files."""

    customers: int = 5_000
    years: int = 3  # history length, whole years ending at end_date
    end_date: datetime.date = datetime.date(2025, 12, 31)
    seed: int = 42
    defect_rate: float = 0.002  # share of rows per entity given a known defect (0 = clean)
    chunk_customers: int = 100_000  # customers generated per chunk: bounds memory


@dataclass(frozen=True)
class GenerationSummary:
    """What ``generate`` wrote."""

    out_dir: Path
    rows: dict[str, int]  # rows written per entity (landing)
    defects: int  # injected defect rows
    seconds: float


ENTITIES: tuple[str, ...] = (
    "customers",
    "products",
    "orders",
    "order_lines",
    "support_tickets",
    "cost_rates",
    "acquisition_spend",
    "service_contracts",
)

# --------------------------------------------------------------------------------------
# Vocabulary: the contract's allowed values. Arrays of codes index into these tuples.
# --------------------------------------------------------------------------------------

VALUE_CLASSES = ("platinum", "gold", "silver", "bronze", "negative")
INDUSTRIES = (
    "retail",
    "manufacturing",
    "technology",
    "healthcare",
    "financial_services",
    "education",
    "public_sector",
    "other",
)
SIZE_BANDS = ("1-10", "11-50", "51-200", "201-1000", "1000+")
REGIONS = ("north_america", "emea", "apac", "latam")
# Repeats weight a country within its region.
COUNTRIES_BY_REGION: tuple[tuple[str, ...], ...] = (
    ("US", "US", "US", "US", "US", "US", "CA", "CA"),
    ("GB", "DE", "FR", "NL", "SE", "ES", "IT", "IE", "AE", "ZA"),
    ("AU", "JP", "SG", "IN", "NZ", "KR"),
    ("BR", "MX", "AR", "CL", "CO"),
)
ACQUISITION_CHANNELS = (
    "organic_search",
    "paid_search",
    "social",
    "referral",
    "partner",
    "field_sales",
    "events",
)
FIELD_SALES = ACQUISITION_CHANNELS.index("field_sales")
PLANS = ("basic", "premium", "enterprise")
PRODUCT_CATEGORIES = ("hardware", "software", "consumables", "accessories", "services")
ORDER_STATUSES = ("completed", "returned", "cancelled")
SALES_CHANNELS = ("web", "mobile_app", "phone", "partner", "field_sales")
SUPPORT_CHANNELS = ("phone", "email", "chat", "self_service", "community", "virtual_agent")
TICKET_CATEGORIES = ("onboarding", "how_to", "problem", "billing", "upgrade")
PRIORITIES = ("low", "normal", "high", "urgent")
CURRENCIES = ("USD", "EUR")  # code -1 writes an empty field (= reporting currency)
USD, EUR = 0, 1

NAME_WORDS = (
    "Acme", "Apex", "Blue", "Bright", "Cedar", "Delta", "Evergreen", "Falcon", "Granite",
    "Harbor", "Iron", "Juniper", "Keystone", "Lumen", "Maple", "Northwind", "Orion",
    "Pioneer", "Quantum", "Redwood", "Summit", "Tidal", "Union", "Vertex", "Willow", "Zenith",
)  # fmt: skip
NAME_NOUNS = (
    "Analytics", "Bakery", "Clinic", "Logistics", "Manufacturing", "Media", "Partners",
    "Retail", "Systems", "Labs", "Supply", "Foods", "Health", "Energy", "Studio", "Works",
)  # fmt: skip
NAME_SUFFIXES = ("Inc", "LLC", "Ltd", "GmbH", "Co", "Group")

# --------------------------------------------------------------------------------------
# Economics. One place for every number the data is calibrated with.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassProfile:
    """Economics of one latent value class (means; customers vary around them)."""

    name: str
    share: float
    orders_per_year: float
    managed_order_boost: float  # account-managed customers order this many times as often
    lines_per_order: float  # mean lines per order, >= 1
    order_value: float  # mean order value at list price
    discounted_share: float  # share of the class's customers that get discounts at all
    discounted_line_share: float  # share of a discounted customer's lines with a discount
    discount_rate: float  # discount on a discounted line, share of the line value
    return_probability: float
    expedite_probability: float
    tickets_per_year: float  # besides the onboarding burst
    handle_time_factor: float
    escalation_factor: float
    csat_shift: float
    churn_per_year: float  # dropout hazard
    one_time_share: float  # customers who never buy again after the first order
    account_manager_share: float
    plan_weights: tuple[float, ...]  # none, basic, premium, enterprise
    acquisition_weights: tuple[float, ...]  # ACQUISITION_CHANNELS
    support_channel_weights: tuple[float, ...]  # SUPPORT_CHANNELS
    product_category_weights: tuple[float, ...]  # PRODUCT_CATEGORIES
    ticket_category_weights: tuple[float, ...]  # TICKET_CATEGORIES without onboarding
    sales_channel_weights: tuple[float, ...]  # SALES_CHANNELS
    size_band_weights: tuple[float, ...]  # SIZE_BANDS


# Calibrated so that net profit per year steps roughly 20,000 / 5,000 / 1,500 / 400 / -700
# from platinum to negative: several-fold steps keep the classes recoverable from the data,
# and these shares and levels put 70-80% of net profit in the top fifth of customers.
CLASS_PROFILES: tuple[ClassProfile, ...] = (
    ClassProfile(
        name="platinum", share=0.05, orders_per_year=24.0, managed_order_boost=1.0,
        lines_per_order=3.0, order_value=1_700.0, discounted_share=0.6,
        discounted_line_share=0.7, discount_rate=0.06, return_probability=0.02,
        expedite_probability=0.20, tickets_per_year=10.0, handle_time_factor=1.0,
        escalation_factor=1.0, csat_shift=0.2, churn_per_year=0.02, one_time_share=0.0,
        account_manager_share=1.0,
        plan_weights=(0.15, 0.0, 0.35, 0.50),
        acquisition_weights=(0.05, 0.05, 0.0, 0.15, 0.15, 0.45, 0.15),
        support_channel_weights=(0.45, 0.20, 0.25, 0.05, 0.0, 0.05),
        product_category_weights=(0.30, 0.30, 0.15, 0.10, 0.15),
        ticket_category_weights=(0.35, 0.35, 0.10, 0.20),
        sales_channel_weights=(0.25, 0.05, 0.20, 0.15, 0.35),
        size_band_weights=(0.0, 0.05, 0.20, 0.35, 0.40),
    ),
    ClassProfile(
        name="gold", share=0.15, orders_per_year=12.0, managed_order_boost=1.6,
        lines_per_order=2.2, order_value=1_000.0, discounted_share=0.4,
        discounted_line_share=0.7, discount_rate=0.05, return_probability=0.03,
        expedite_probability=0.12, tickets_per_year=6.0, handle_time_factor=1.0,
        escalation_factor=1.0, csat_shift=0.1, churn_per_year=0.04, one_time_share=0.0,
        account_manager_share=0.5,
        plan_weights=(0.50, 0.20, 0.30, 0.0),
        acquisition_weights=(0.10, 0.12, 0.05, 0.20, 0.20, 0.20, 0.13),
        support_channel_weights=(0.35, 0.25, 0.25, 0.05, 0.05, 0.05),
        product_category_weights=(0.30, 0.25, 0.20, 0.10, 0.15),
        ticket_category_weights=(0.35, 0.35, 0.10, 0.20),
        sales_channel_weights=(0.35, 0.10, 0.20, 0.15, 0.20),
        size_band_weights=(0.05, 0.15, 0.35, 0.30, 0.15),
    ),
    ClassProfile(
        name="silver", share=0.30, orders_per_year=7.0, managed_order_boost=1.0,
        lines_per_order=1.6, order_value=620.0, discounted_share=0.2,
        discounted_line_share=0.7, discount_rate=0.05, return_probability=0.04,
        expedite_probability=0.06, tickets_per_year=3.0, handle_time_factor=1.0,
        escalation_factor=1.0, csat_shift=0.0, churn_per_year=0.06, one_time_share=0.0,
        account_manager_share=0.0,
        plan_weights=(0.90, 0.10, 0.0, 0.0),
        acquisition_weights=(0.25, 0.20, 0.10, 0.20, 0.12, 0.05, 0.08),
        support_channel_weights=(0.20, 0.30, 0.25, 0.10, 0.05, 0.10),
        product_category_weights=(0.25, 0.20, 0.30, 0.15, 0.10),
        ticket_category_weights=(0.40, 0.35, 0.12, 0.13),
        sales_channel_weights=(0.50, 0.20, 0.15, 0.10, 0.05),
        size_band_weights=(0.15, 0.35, 0.30, 0.15, 0.05),
    ),
    ClassProfile(
        name="bronze", share=0.435, orders_per_year=3.2, managed_order_boost=1.0,
        lines_per_order=1.3, order_value=300.0, discounted_share=0.1,
        discounted_line_share=0.7, discount_rate=0.05, return_probability=0.04,
        expedite_probability=0.03, tickets_per_year=1.2, handle_time_factor=1.0,
        escalation_factor=1.0, csat_shift=0.0, churn_per_year=0.25, one_time_share=0.28,
        account_manager_share=0.0,
        plan_weights=(1.0, 0.0, 0.0, 0.0),
        acquisition_weights=(0.40, 0.20, 0.20, 0.20, 0.0, 0.0, 0.0),
        support_channel_weights=(0.08, 0.30, 0.20, 0.17, 0.10, 0.15),
        product_category_weights=(0.15, 0.20, 0.35, 0.25, 0.05),
        ticket_category_weights=(0.45, 0.30, 0.15, 0.10),
        sales_channel_weights=(0.55, 0.30, 0.10, 0.05, 0.0),
        size_band_weights=(0.45, 0.35, 0.15, 0.04, 0.01),
    ),
    ClassProfile(
        name="negative", share=0.065, orders_per_year=5.0, managed_order_boost=1.0,
        lines_per_order=1.8, order_value=350.0, discounted_share=1.0,
        discounted_line_share=0.95, discount_rate=0.45, return_probability=0.30,
        expedite_probability=0.15, tickets_per_year=18.0, handle_time_factor=1.5,
        escalation_factor=2.5, csat_shift=-0.9, churn_per_year=0.25, one_time_share=0.10,
        account_manager_share=0.0,
        plan_weights=(1.0, 0.0, 0.0, 0.0),
        acquisition_weights=(0.30, 0.30, 0.25, 0.08, 0.05, 0.0, 0.02),
        support_channel_weights=(0.55, 0.15, 0.25, 0.02, 0.01, 0.02),
        product_category_weights=(0.35, 0.0, 0.35, 0.25, 0.05),
        ticket_category_weights=(0.20, 0.50, 0.25, 0.05),
        sales_channel_weights=(0.45, 0.30, 0.20, 0.05, 0.0),
        size_band_weights=(0.35, 0.35, 0.20, 0.08, 0.02),
    ),
)  # fmt: skip

# Customer-level spread around the class means (lognormal sigma): small enough that the
# classes stay separated in value per year.
CUSTOMER_SPREAD = 0.15
TICKET_SPREAD = 0.30
ORDER_VALUE_SPREAD = 0.35  # order-to-order spread of one customer's order value
# Repeat orders are more regular than a Poisson process (B2B customers reorder on a
# rhythm): counts are binomial with success probability about this, variance m(1 - p).
ORDER_REGULARITY = 0.75
# The first order stocks up: it is this many times a regular order. It also pays back the
# acquisition cost, so new and one-time customers of the positive classes are profitable.
FIRST_ORDER_FACTOR = 2.0
PRICE_FIT = 1.25  # a line only picks products up to this multiple of its target value
MIN_PRODUCT_CHOICE = 10  # ...but always has at least the cheapest products to choose from
FIRST_ORDER_MEAN_DAYS = 4.0  # first order shortly after signup
CANCEL_PROBABILITY = 0.02
SIGNUP_GROWTH = 0.3  # signups per day grow by this share over the history
ONBOARDING_PROBABILITY = 0.85
ONBOARDING_DAYS = 30
PREFERRED_CHANNEL_SHARE = 0.8  # share of a customer's tickets in the preferred channel
CSAT_RESPONSE_RATE = 0.55
CUSTOMERS_PER_MANAGER = 35  # target portfolio; never more than MAX_CUSTOMERS_PER_MANAGER
MAX_CUSTOMERS_PER_MANAGER = 40

# Product catalogue: count, median list price, price spread, gross margin and its spread.
PRODUCT_CATALOGUE: tuple[tuple[int, float, float, float, float], ...] = (
    (45, 600.0, 0.6, 0.28, 0.04),  # hardware
    (35, 250.0, 0.7, 0.70, 0.05),  # software
    (50, 30.0, 0.6, 0.38, 0.05),  # consumables
    (45, 60.0, 0.5, 0.50, 0.05),  # accessories
    (25, 400.0, 0.5, 0.45, 0.05),  # services
)
PRODUCT_NOUNS = ("Server", "Suite", "Refill Pack", "Adapter", "Service Pack")

# Acquisition cost per customer by channel (spend / new customers); field sales costs are
# known per customer (customers.acquisition_cost), so that channel has no spend rows.
COST_PER_ACQUISITION = (25.0, 90.0, 60.0, 40.0, 150.0, 0.0, 300.0)
FIELD_SALES_COST_MEDIAN = 700.0

PLAN_FEES = (600.0, 2_400.0, 6_000.0)  # annual fee: basic, premium, enterprise

# Support handle time by channel: lognormal median minutes and sigma (0 = near-zero).
HANDLE_MINUTES = ((12.0, 0.5), (8.0, 0.6), (10.0, 0.5), (0.0, 0.0), (0.0, 0.0), (3.0, 0.5))
RESOLUTION_HOURS = (0.5, 20.0, 0.7, 0.1, 30.0, 0.2)  # median time to close, by channel
MAX_RESOLUTION_HOURS = 20 * 24.0  # stale tickets get closed, so only recent ones stay open
# Time to first response: lognormal median hours by channel (nan: no answer expected, the
# self-service channels), scaled per value class (valuable accounts are answered first) and
# per priority. Drawn from their own random stream (FIRST_RESPONSE_STREAM), so adding them
# left every other sample value as it was.
FIRST_RESPONSE_HOURS = (0.04, 3.0, 0.06, math.nan, math.nan, 0.002)  # by SUPPORT_CHANNELS
FIRST_RESPONSE_SIGMA = 1.0
FIRST_RESPONSE_CLASS_FACTOR = (0.3, 0.5, 1.0, 1.5, 2.0)  # by CLASS_PROFILES
FIRST_RESPONSE_PRIORITY_FACTOR = (1.3, 1.0, 0.6, 0.3)  # by PRIORITIES
FIRST_RESPONSE_STREAM = 0x46525354  # "FRST": spawn key of the first-response stream
ESCALATION_BY_CATEGORY = (0.03, 0.02, 0.12, 0.06, 0.03)  # by TICKET_CATEGORIES
PRIORITY_BY_CATEGORY = (
    (0.30, 0.60, 0.10, 0.00),
    (0.40, 0.50, 0.08, 0.02),
    (0.10, 0.45, 0.30, 0.15),
    (0.25, 0.55, 0.15, 0.05),
    (0.35, 0.55, 0.10, 0.00),
)

# Activity cost rates: (activity, channel or None, rate); the phone minute rate rises by
# PHONE_RATE_INCREASE on the July 1st nearest the middle of the history.
COST_RATES: tuple[tuple[str, str | None, float], ...] = (
    ("support_minute", "phone", 1.50),
    ("support_minute", "email", 0.70),
    ("support_minute", "chat", 0.90),
    ("support_minute", "self_service", 0.02),
    ("support_minute", "community", 0.02),
    ("support_minute", "virtual_agent", 0.10),
    ("escalation", None, 45.00),
    ("return", None, 25.00),
    ("expedited_order", None, 15.00),
    ("account_manager_year", None, 90_000.00),
)
PHONE_RATE_INCREASE = 0.15

# Defects per entity, in the order their rows are allotted.
DEFECTS: dict[str, tuple[str, ...]] = {
    "customers": ("duplicate_id",),
    "orders": ("duplicate_id", "unknown_customer", "ordered_in_future", "currency_mismatch"),
    "order_lines": ("unknown_product", "non_positive_quantity"),
    "support_tickets": ("duplicate_id", "unknown_customer", "closed_before_opened"),
}

SECONDS_PER_DAY = 86_400
NO_TIME = np.iinfo(np.int64).min  # "no timestamp" in seconds columns (an open ticket)
DAYS_PER_YEAR = 365.25

Table = dict[str, np.ndarray]


# --------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------


FUTURE_DEFECT_MIN_DAYS = 75 * 365.0  # ordered_in_future defects land ~75 years after the history


@dataclass(frozen=True)
class History:
    """The generated period: whole days ``start`` .. ``end`` inclusive."""

    start: datetime.date
    end: datetime.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def seconds(self) -> int:
        return self.days * SECONDS_PER_DAY

    @classmethod
    def of(cls, config: GeneratorConfig) -> History:
        end = config.end_date
        try:
            back = end.replace(year=end.year - config.years)
        except ValueError:  # Feb 29 in a year without one
            back = end.replace(year=end.year - config.years, day=28)
        return cls(start=back + datetime.timedelta(days=1), end=end)

    def rate_change_date(self) -> datetime.date:
        """The July 1st closest to the middle of the history (always inside it)."""
        middle = self.start + datetime.timedelta(days=self.days // 2)
        candidates = [
            datetime.date(year, 7, 1)
            for year in range(self.start.year, self.end.year + 1)
            if self.start < datetime.date(year, 7, 1) <= self.end
        ]
        if not candidates:  # histories shorter than a year may miss July
            return middle
        return min(candidates, key=lambda day: abs((day - middle).days))


def _profile_array(name: str) -> np.ndarray:
    """One scalar field of every class profile, indexed by class code."""
    return np.array([getattr(profile, name) for profile in CLASS_PROFILES], dtype=float)


def _profile_weights(name: str) -> np.ndarray:
    """A weights field of every class profile as a row-normalised matrix."""
    matrix = np.array([getattr(profile, name) for profile in CLASS_PROFILES], dtype=float)
    return matrix / matrix.sum(axis=1, keepdims=True)


def _pick(rng: np.random.Generator, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Draw one category per element of ``rows`` from row ``rows[i]`` of ``weights``.

    Inverse-CDF on a per-row cumulative table, so mixed classes need no Python loop.
    """
    cumulative = np.cumsum(weights, axis=1)
    cumulative[:, -1] = 1.0  # guard against rounding leaving u > last cumulative weight
    u = rng.random(rows.shape[0])
    return (u[:, None] >= cumulative[rows]).sum(axis=1).astype(np.int8)


def _lognormal(rng: np.random.Generator, mean: np.ndarray, sigma: float) -> np.ndarray:
    """Lognormal draws with the given means (not medians)."""
    mu = np.log(mean) - sigma**2 / 2
    return rng.lognormal(mu, sigma)


def _uniform_events(
    rng: np.random.Generator,
    rate_per_day: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
    regularity: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Events per owner spread uniformly between start and stop (days): (owner, day).

    Counts are Poisson, or with ``regularity`` p binomial with success probability about p:
    the same mean with the variance shrunk to about (1 - p) times the mean.
    """
    span = np.maximum(stop - start, 0.0)
    expected = rate_per_day * span
    if regularity is None:
        counts = rng.poisson(expected)
    else:
        trials = np.ceil(expected / regularity).astype(np.int64)
        counts = rng.binomial(trials, np.where(trials > 0, expected / np.maximum(trials, 1), 0.0))
    owner = np.repeat(np.arange(start.shape[0]), counts)
    day = start[owner] + rng.random(owner.shape[0]) * span[owner]
    return owner, day


def _split_evenly(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` counts differing by at most one."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _categorical(codes: np.ndarray, categories: tuple[str, ...]) -> pd.Categorical:
    """Codes as a pandas categorical (DuckDB reads it as an ENUM; -1 becomes NULL)."""
    return pd.Categorical.from_codes(codes.astype(np.int16), categories=list(categories))


# --------------------------------------------------------------------------------------
# Static entities: products, cost rates, acquisition spend
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    """Products as arrays indexed by product code (product number - 1)."""

    category: np.ndarray
    list_price: np.ndarray
    unit_cost: np.ndarray
    popularity: np.ndarray  # within-category sales weight

    @property
    def size(self) -> int:
        return int(self.category.shape[0])

    def class_probabilities(self) -> np.ndarray:
        """P(product | value class): class category weights times popularity."""
        weights = _profile_weights("product_category_weights")[:, self.category]
        weights = weights * self.popularity[None, :]
        return weights / weights.sum(axis=1, keepdims=True)


def _draw_catalogue(rng: np.random.Generator) -> Catalogue:
    """About 200 products; prices and margins differ by category."""
    categories, prices, costs, popularity = [], [], [], []
    for code, (count, median, spread, margin, margin_spread) in enumerate(PRODUCT_CATALOGUE):
        price = np.round(np.maximum(rng.lognormal(math.log(median), spread, count), 2.0)) - 0.01
        product_margin = np.clip(rng.normal(margin, margin_spread, count), 0.05, 0.95)
        categories.append(np.full(count, code, dtype=np.int8))
        prices.append(price)
        costs.append(np.round(price * (1.0 - product_margin), 2))
        # Zipf-like popularity so a few products sell most, as in real catalogues.
        popularity.append(1.0 / np.arange(1, count + 1) ** 0.8)
    return Catalogue(
        category=np.concatenate(categories),
        list_price=np.concatenate(prices),
        unit_cost=np.concatenate(costs),
        popularity=np.concatenate(popularity),
    )


def _products_frame(catalogue: Catalogue) -> pd.DataFrame:
    number = np.arange(1, catalogue.size + 1)
    noun = np.array(PRODUCT_NOUNS, dtype=object)[catalogue.category]
    return pd.DataFrame(
        {
            "product_no": number,
            "product_noun": noun,
            "category": _categorical(catalogue.category, PRODUCT_CATEGORIES),
            "list_price": catalogue.list_price,
            "unit_cost": catalogue.unit_cost,
        }
    )


def _cost_rates_frame(history: History) -> pd.DataFrame:
    """Rates valid over the whole history, with one mid-history phone rate change."""
    change = history.rate_change_date()
    rows: list[tuple[str, str | None, datetime.date, datetime.date | None, float]] = []
    for activity, channel, rate in COST_RATES:
        if channel == "phone":
            rows.append((activity, channel, history.start, change, rate))
            rows.append((activity, channel, change, None, round(rate + PHONE_RATE_INCREASE, 2)))
        else:
            rows.append((activity, channel, history.start, None, rate))
    frame = pd.DataFrame(rows, columns=["activity", "channel", "valid_from", "valid_to", "rate"])
    frame["valid_from"] = pd.to_datetime(frame["valid_from"])
    frame["valid_to"] = pd.to_datetime(frame["valid_to"])
    return frame


def _acquisition_spend_frame(rng: np.random.Generator, signups: np.ndarray, history: History) -> pd.DataFrame:
    """Spend per channel and month with signups: new customers x cost per acquisition."""
    channel, month = np.nonzero(signups)
    count = signups[channel, month]
    cpa = np.array(COST_PER_ACQUISITION)[channel]
    keep = cpa > 0
    channel, month, count, cpa = channel[keep], month[keep], count[keep], cpa[keep]
    spend = np.round(count * cpa * rng.lognormal(0.0, 0.15, channel.shape[0]), 2)
    first_month = np.datetime64(history.start, "M")
    return pd.DataFrame(
        {
            "acquisition_channel": _categorical(channel, ACQUISITION_CHANNELS),
            "spend_month": (first_month + month).astype("datetime64[D]").astype("datetime64[s]"),
            "spend_amount": spend,
        }
    )


# --------------------------------------------------------------------------------------
# Customers and their behaviour
# --------------------------------------------------------------------------------------


@dataclass
class Counters:
    """Running identifiers, so keys stay unique across chunks."""

    order: int = 0
    order_line: int = 0
    ticket: int = 0
    contract: int = 0
    manager: int = 0
    unknown_customer: int = 0
    unknown_product: int = 0
    signups: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))


def _draw_signup_days(rng: np.random.Generator, n: int, days: int) -> np.ndarray:
    """Signup days with a linearly growing rate (a growing business), inverse CDF."""
    g = SIGNUP_GROWTH
    u = rng.random(n)
    # CDF of density (1 + g x) on [0, 1] normalised: (x + g x^2 / 2) / (1 + g / 2) = u
    x = (-1.0 + np.sqrt(1.0 + 2.0 * g * u * (1.0 + g / 2.0))) / g
    return np.minimum((x * days).astype(np.int32), days - 1)


def _draw_customers(rng: np.random.Generator, first_number: int, n: int, history: History) -> Table:
    """Latent class, profile fields and behaviour parameters of ``n`` customers."""
    value_class = rng.choice(len(CLASS_PROFILES), size=n, p=_profile_array("share"))
    value_class = value_class.astype(np.int8)
    signup_day = _draw_signup_days(rng, n, history.days)

    first_order = signup_day + np.minimum(rng.exponential(FIRST_ORDER_MEAN_DAYS, n), history.days - signup_day - 1e-6)
    one_time = rng.random(n) < _profile_array("one_time_share")[value_class]
    lifetime_days = rng.exponential(1.0, n) / _profile_array("churn_per_year")[value_class]
    dropout = np.where(one_time, first_order, first_order + lifetime_days * DAYS_PER_YEAR)

    discounted = rng.random(n) < _profile_array("discounted_share")[value_class]
    managed = rng.random(n) < _profile_array("account_manager_share")[value_class]
    order_boost = np.where(managed, _profile_array("managed_order_boost")[value_class], 1.0)
    region = rng.choice(len(REGIONS), size=n, p=(0.45, 0.30, 0.17, 0.08)).astype(np.int8)
    acquisition = _pick(rng, _profile_weights("acquisition_weights"), value_class)
    field_sales_cost = np.round(rng.lognormal(math.log(FIELD_SALES_COST_MEDIAN), 0.4, n), 2)
    onboarding = np.where(rng.random(n) < ONBOARDING_PROBABILITY, rng.integers(1, 4, n), 0)

    return {
        "customer_no": np.arange(first_number, first_number + n, dtype=np.int64),
        "value_class": value_class,
        "signup_day": signup_day,
        "first_order": first_order,
        "dropout": dropout,
        "one_time": one_time,
        "orders_per_year": order_boost
        * _lognormal(rng, _profile_array("orders_per_year")[value_class], CUSTOMER_SPREAD),
        "order_value": _lognormal(rng, _profile_array("order_value")[value_class], CUSTOMER_SPREAD),
        "lines_per_order": _profile_array("lines_per_order")[value_class],
        "discount_rate": np.where(
            discounted,
            _profile_array("discount_rate")[value_class] * rng.uniform(0.7, 1.3, n),
            0.0,
        ),
        "return_probability": np.clip(
            _lognormal(rng, _profile_array("return_probability")[value_class], 0.3), 0.0, 0.9
        ),
        "expedite_probability": _profile_array("expedite_probability")[value_class],
        "tickets_per_year": _lognormal(rng, _profile_array("tickets_per_year")[value_class], TICKET_SPREAD),
        "preferred_channel": _pick(rng, _profile_weights("support_channel_weights"), value_class),
        "onboarding_tickets": onboarding.astype(np.int8),
        "plan": (_pick(rng, _profile_weights("plan_weights"), value_class) - 1).astype(np.int8),
        "has_manager": managed,
        "manager_no": np.zeros(n, dtype=np.int64),
        "acquisition_channel": acquisition,
        "acquisition_cost": np.where(acquisition == FIELD_SALES, field_sales_cost, np.nan),
        "industry": np.where(rng.random(n) < 0.03, -1, rng.integers(0, len(INDUSTRIES), n)).astype(np.int8),
        "size_band": np.where(
            rng.random(n) < 0.03,
            -1,
            _pick(rng, _profile_weights("size_band_weights"), value_class),
        ).astype(np.int8),
        "region": region,
        "country_pick": rng.random(n),
        "has_email": rng.random(n) >= 0.01,
        "name_a": rng.integers(0, len(NAME_WORDS), n).astype(np.int8),
        "name_b": rng.integers(0, len(NAME_NOUNS), n).astype(np.int8),
        "name_s": rng.integers(0, len(NAME_SUFFIXES), n).astype(np.int8),
    }


def _assign_account_managers(rng: np.random.Generator, customers: Table, counters: Counters) -> None:
    """Give managed customers a manager; each manager covers 20-40 of them.

    Managers are filled evenly within a chunk: an uneven split would leave a few managers
    with a handful of customers, each carrying a large share of a manager's cost.
    """
    managed = np.flatnonzero(customers["has_manager"])
    if managed.size == 0:
        return
    managers = max(
        1,
        round(managed.size / CUSTOMERS_PER_MANAGER),
        math.ceil(managed.size / MAX_CUSTOMERS_PER_MANAGER),
    )
    shuffled = rng.permutation(managed)
    # Consecutive runs of the shuffled list go to one manager: sizes differ by at most one.
    manager_of_position = (np.arange(managed.size) * managers) // managed.size
    customers["manager_no"][shuffled] = counters.manager + 1 + manager_of_position
    counters.manager += managers


def _stop_day(customers: Table, history: History) -> np.ndarray:
    """End of the customer's buying window: dropout or the end of the history."""
    return np.minimum(customers["dropout"], history.days)


def _draw_orders(rng: np.random.Generator, customers: Table, history: History, counters: Counters) -> Table:
    """First order plus repeat orders until dropout; numbered in time order."""
    n = customers["customer_no"].shape[0]
    stop = _stop_day(customers, history)
    rate = np.where(customers["one_time"], 0.0, customers["orders_per_year"] / DAYS_PER_YEAR)
    owner, day = _uniform_events(rng, rate, customers["first_order"], stop, ORDER_REGULARITY)
    first = np.concatenate([np.ones(n, dtype=bool), np.zeros(owner.shape[0], dtype=bool)])
    owner = np.concatenate([np.arange(n), owner])
    day = np.concatenate([customers["first_order"], day])
    seconds = np.minimum((day * SECONDS_PER_DAY).astype(np.int64), history.seconds - 1)
    order = np.lexsort((owner, seconds))
    owner, seconds, first = owner[order], seconds[order], first[order]

    value_class = customers["value_class"][owner]
    u = rng.random(owner.shape[0])
    returned = u < customers["return_probability"][owner]
    cancelled = ~returned & (u < customers["return_probability"][owner] + CANCEL_PROBABILITY)
    status = np.where(returned, 1, np.where(cancelled, 2, 0)).astype(np.int8)
    expedited = rng.random(owner.shape[0]) < customers["expedite_probability"][owner]
    # An empty is_expedited means false; some sources leave it empty.
    expedited_code = np.where(~expedited & (rng.random(owner.shape[0]) < 0.05), -1, expedited)
    currency = np.where(rng.random(owner.shape[0]) < 0.05, -1, USD).astype(np.int8)

    number = counters.order + 1 + np.arange(owner.shape[0], dtype=np.int64)
    counters.order += owner.shape[0]
    return {
        "order_no": number,
        "owner": owner,
        "is_first": first,
        "customer_no": customers["customer_no"][owner],
        "ordered_s": seconds,
        "status": status,
        "sales_channel": _pick(rng, _profile_weights("sales_channel_weights"), value_class),
        "expedited": expedited_code.astype(np.int8),
        "currency": currency,
    }


def _draw_order_lines(
    rng: np.random.Generator,
    customers: Table,
    orders: Table,
    catalogue: Catalogue,
    counters: Counters,
) -> Table:
    """Lines per order; quantities make the order value match the customer's level."""
    owner = orders["owner"]
    lines = 1 + rng.poisson(customers["lines_per_order"][owner] - 1.0)
    mean_value = customers["order_value"][owner] * np.where(orders["is_first"], FIRST_ORDER_FACTOR, 1.0)
    order_value = _lognormal(rng, mean_value, ORDER_VALUE_SPREAD)
    line_order = np.repeat(np.arange(owner.shape[0]), lines)
    line_owner = owner[line_order]
    target = (order_value / lines)[line_order]

    line_class = customers["value_class"][line_owner]
    product = _pick_products(rng, catalogue, line_class, target)
    price = catalogue.list_price[product]
    # Quantities bring the line to its target value; the price fit keeps that close.
    quantity = np.clip(np.round(target / price), 1, 5_000).astype(np.int64)
    rate = customers["discount_rate"][line_owner]
    line_share = _profile_array("discounted_line_share")[line_class]
    discounted = (rate > 0) & (rng.random(line_order.shape[0]) < line_share)
    discount = np.where(
        discounted,
        np.round(quantity * price * rate * rng.uniform(0.8, 1.2, line_order.shape[0]), 2),
        np.nan,
    )
    number = counters.order_line + 1 + np.arange(line_order.shape[0], dtype=np.int64)
    counters.order_line += line_order.shape[0]
    return {
        "order_line_no": number,
        "order_no": orders["order_no"][line_order],
        "product_no": product + 1,
        "quantity": quantity,
        "unit_price": price,
        "discount_amount": discount,
    }


def _pick_products(
    rng: np.random.Generator, catalogue: Catalogue, line_class: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """Product per line by class preference, among products that fit the line's value.

    Without the price fit a small customer's line could land on a 3,000 server and make one
    order worth a year of purchases; the noise would blur the value classes.
    """
    by_price = np.argsort(catalogue.list_price, kind="stable")
    sorted_price = catalogue.list_price[by_price]
    cumulative = np.cumsum(catalogue.class_probabilities()[:, by_price], axis=1)
    affordable = np.searchsorted(sorted_price, target * PRICE_FIT, side="right")
    affordable = np.maximum(affordable, MIN_PRODUCT_CHOICE)
    product = np.empty(line_class.shape[0], dtype=np.int64)
    for code in range(len(CLASS_PROFILES)):  # five vectorised draws, one per class
        rows = np.flatnonzero(line_class == code)
        u = rng.random(rows.size) * cumulative[code, affordable[rows] - 1]
        position = np.searchsorted(cumulative[code], u, side="right")
        product[rows] = by_price[np.minimum(position, catalogue.size - 1)]
    return product


def _draw_tickets(
    rng: np.random.Generator,
    response_rng: np.random.Generator,
    customers: Table,
    history: History,
    counters: Counters,
) -> Table:
    """Onboarding bursts plus Poisson tickets until dropout, mostly in the preferred channel.

    ``response_rng`` draws only the first responses, so ``rng`` draws what it drew before
    first responses existed.
    """
    n = customers["customer_no"].shape[0]
    signup = customers["signup_day"].astype(float)
    onboarding_owner = np.repeat(np.arange(n), customers["onboarding_tickets"])
    # Late signups get their burst squeezed into the days left, not piled on the last second.
    window = np.minimum(ONBOARDING_DAYS, history.days - signup)
    onboarding_day = signup[onboarding_owner] + rng.random(onboarding_owner.shape[0]) * window[onboarding_owner]
    rate = customers["tickets_per_year"] / DAYS_PER_YEAR
    regular_owner, regular_day = _uniform_events(rng, rate, signup, _stop_day(customers, history))
    owner = np.concatenate([onboarding_owner, regular_owner])
    day = np.concatenate([onboarding_day, regular_day])
    value_class = customers["value_class"][owner]
    regular_class = customers["value_class"][regular_owner]
    regular_category = 1 + _pick(rng, _profile_weights("ticket_category_weights"), regular_class)
    category = np.concatenate([np.zeros(onboarding_owner.shape[0], dtype=np.int8), regular_category.astype(np.int8)])
    opened = np.minimum((day * SECONDS_PER_DAY).astype(np.int64), history.seconds - 1)
    order = np.lexsort((owner, opened))
    owner, opened, category, value_class = (
        owner[order],
        opened[order],
        category[order],
        value_class[order],
    )
    m = owner.shape[0]

    other_channel = _pick(rng, _profile_weights("support_channel_weights"), value_class)
    preferred = rng.random(m) < PREFERRED_CHANNEL_SHARE
    channel = np.where(preferred, customers["preferred_channel"][owner], other_channel)

    escalation_p = np.array(ESCALATION_BY_CATEGORY)[category] * _profile_array("escalation_factor")[value_class]
    escalated = rng.random(m) < escalation_p
    minutes = _handle_minutes(rng, channel, category, value_class, escalated)

    priority = _pick(rng, np.array(PRIORITY_BY_CATEGORY), category)
    # Valuable accounts get their tickets raised a level more often.
    bump = (value_class <= 1) & (rng.random(m) < 0.3)
    priority = np.minimum(priority + bump, len(PRIORITIES) - 1).astype(np.int8)

    hours = rng.lognormal(np.log(np.array(RESOLUTION_HOURS)[channel]), 1.0)
    hours = np.minimum(hours * np.where(escalated, 6.0, 1.0), MAX_RESOLUTION_HOURS)
    closed = opened + np.maximum((hours * 3600).astype(np.int64), 60)
    still_open = closed >= history.seconds

    score = (
        4.3
        + _profile_array("csat_shift")[value_class]
        - 0.8 * escalated
        - 0.3 * np.isin(channel, (3, 4, 5))
        + rng.normal(0.0, 0.9, m)
    )
    answered = ~still_open & (rng.random(m) < CSAT_RESPONSE_RATE)
    first_response = _first_responses(response_rng, channel, priority, value_class, opened, closed, history)
    number = counters.ticket + 1 + np.arange(m, dtype=np.int64)
    counters.ticket += m
    return {
        "ticket_no": number,
        "customer_no": customers["customer_no"][owner],
        "opened_s": opened,
        "closed_s": np.where(still_open, NO_TIME, closed),
        "first_response_s": first_response,
        "channel": channel.astype(np.int8),
        "category": category,
        "priority": priority,
        "handle_minutes": minutes,
        "escalated": escalated,
        "csat": np.where(answered, np.clip(np.round(score), 1, 5), -1).astype(np.int8),
    }


def _first_responses(
    rng: np.random.Generator,
    channel: np.ndarray,
    priority: np.ndarray,
    value_class: np.ndarray,
    opened: np.ndarray,
    closed: np.ndarray,
    history: History,
) -> np.ndarray:
    """Seconds of the first answer (NO_TIME: none): never after the ticket was closed, and
    none yet for a ticket still waiting at the end of the history."""
    median = (
        np.array(FIRST_RESPONSE_HOURS)[channel]
        * np.array(FIRST_RESPONSE_CLASS_FACTOR)[value_class]
        * np.array(FIRST_RESPONSE_PRIORITY_FACTOR)[priority]
    )
    # One draw per ticket whatever its channel, so the stream does not depend on the mix.
    noise = rng.lognormal(0.0, FIRST_RESPONSE_SIGMA, channel.shape[0])
    seconds = np.maximum(np.nan_to_num(median * noise * 3600.0), 1.0).astype(np.int64)
    answered_at = np.minimum(opened + seconds, closed)
    has_answer = ~np.isnan(median) & (answered_at < history.seconds)
    return np.where(has_answer, answered_at, NO_TIME)


def _handle_minutes(
    rng: np.random.Generator,
    channel: np.ndarray,
    category: np.ndarray,
    value_class: np.ndarray,
    escalated: np.ndarray,
) -> np.ndarray:
    """Agent minutes: lognormal per channel; unassisted channels stay near zero."""
    median = np.array([m for m, _ in HANDLE_MINUTES])[channel]
    sigma = np.array([s for _, s in HANDLE_MINUTES])[channel]
    assisted = median > 0
    minutes = np.where(
        assisted,
        np.exp(np.log(np.where(assisted, median, 1.0)) + sigma * rng.standard_normal(channel.shape[0])),
        rng.uniform(0.0, 0.5, channel.shape[0]),
    )
    factor = _profile_array("handle_time_factor")[value_class]
    factor = factor * np.where(category == 2, 1.3, 1.0) * np.where(escalated, 1.5, 1.0)
    return np.round(np.where(assisted, np.maximum(minutes * factor, 1.0), minutes), 1)


def _draw_contracts(rng: np.random.Generator, customers: Table, history: History, counters: Counters) -> Table:
    """One service contract per customer with a plan; it ends after the year of dropout."""
    owner = np.flatnonzero(customers["plan"] >= 0)
    signup = customers["signup_day"][owner]
    start = np.minimum(signup + rng.integers(0, 60, owner.shape[0]), history.days - 1)
    dropout = customers["dropout"][owner]
    churned = dropout < history.days
    contract_years = np.maximum(np.ceil((dropout - start) / 365.0), 1.0)
    end = np.where(churned, start + contract_years * 365 - 1, -1).astype(np.int64)
    plan = customers["plan"][owner]
    fee = np.round(np.array(PLAN_FEES)[plan] * rng.uniform(0.9, 1.1, owner.shape[0]), -1)
    number = counters.contract + 1 + np.arange(owner.shape[0], dtype=np.int64)
    counters.contract += owner.shape[0]
    return {
        "contract_no": number,
        "customer_no": customers["customer_no"][owner],
        "plan": plan,
        "start_day": start.astype(np.int64),
        "end_day": end,
        "annual_fee": fee,
    }


# --------------------------------------------------------------------------------------
# Defects
# --------------------------------------------------------------------------------------


@dataclass
class DefectLog:
    """Rows deliberately broken in one chunk: (entity, key number, defect)."""

    entity: list[np.ndarray] = field(default_factory=list)
    key: list[np.ndarray] = field(default_factory=list)
    defect: list[np.ndarray] = field(default_factory=list)

    def add(self, entity: str, keys: np.ndarray, defect: str) -> None:
        self.entity.append(np.full(keys.shape[0], entity, dtype=object))
        self.key.append(keys.astype(np.int64))
        self.defect.append(np.full(keys.shape[0], defect, dtype=object))

    def __len__(self) -> int:
        return int(sum(k.shape[0] for k in self.key))


def _append_copies(table: Table, rows: np.ndarray, changes: dict[str, np.ndarray]) -> None:
    """Append copies of ``rows`` with some columns replaced (in place)."""
    for name, values in table.items():
        extra = changes[name] if name in changes else values[rows]
        table[name] = np.concatenate([values, extra.astype(values.dtype)])


def _defect_counts(rate: float, rows: int, kinds: int) -> list[int]:
    """Rows per defect kind: ``rate`` x rows, at least one of each kind when rate > 0."""
    if rate <= 0 or rows == 0:
        return [0] * kinds
    total = min(max(round(rate * rows), kinds), rows)
    return _split_evenly(total, kinds)


def _inject_defects(rng: np.random.Generator, tables: dict[str, Table], run: Run) -> DefectLog:
    """Append rows that break one business rule each; they stay well typed.

    Defect rows are added next to clean data (copies of random clean rows with one rule
    broken), never by changing clean rows, so the clean data keeps its calibrated shape.
    """
    log = DefectLog()
    for entity, kinds in DEFECTS.items():
        table = tables[entity]
        clean_rows = table[_key_column(entity)].shape[0]
        counts = _defect_counts(run.config.defect_rate, clean_rows, len(kinds))
        for kind, count in zip(kinds, counts, strict=True):
            if count == 0:
                continue
            rows = np.sort(rng.choice(clean_rows, size=count, replace=False))
            log.add(entity, _inject_one(rng, run, entity, kind, table, rows), kind)
    return log


def _new_keys(entity: str, count: int, counters: Counters) -> np.ndarray:
    """Fresh identifiers for injected rows, continuing the entity's sequence."""
    attribute = {"orders": "order", "order_lines": "order_line", "support_tickets": "ticket"}[entity]
    first = getattr(counters, attribute) + 1
    setattr(counters, attribute, first + count - 1)
    return np.arange(first, first + count, dtype=np.int64)


def _unknown_customers(count: int, total_customers: int, counters: Counters) -> np.ndarray:
    """Customer numbers above the highest generated one: guaranteed not to exist."""
    first = total_customers + 1 + counters.unknown_customer
    counters.unknown_customer += count
    return np.arange(first, first + count, dtype=np.int64)


def _inject_one(
    rng: np.random.Generator, run: Run, entity: str, kind: str, table: Table, rows: np.ndarray
) -> np.ndarray:
    """Append the rows of one defect kind, copied from ``rows``; return their key numbers."""
    counters = run.counters
    key = _key_column(entity)
    count = rows.shape[0]
    if kind == "duplicate_id":
        _append_copies(table, rows, {})
        return table[key][rows]
    keys = _new_keys(entity, count, counters)
    changes: dict[str, np.ndarray] = {key: keys}
    if kind == "unknown_customer":
        changes["customer_no"] = _unknown_customers(count, run.config.customers, counters)
    elif kind == "ordered_in_future":
        # Far past any plausible load time: quarantine calls an order "in the future" when it
        # is dated after the moment it was loaded, and a sample may be loaded years after its
        # history ends.
        days_late = rng.uniform(FUTURE_DEFECT_MIN_DAYS, FUTURE_DEFECT_MIN_DAYS + 365.0, count)
        changes["ordered_s"] = run.history.seconds + (days_late * SECONDS_PER_DAY).astype(np.int64)
    elif kind == "currency_mismatch":
        changes["currency"] = np.full(count, EUR, dtype=np.int8)
    elif kind == "unknown_product":
        first = run.catalogue.size + 1 + counters.unknown_product
        counters.unknown_product += count
        changes["product_no"] = np.arange(first, first + count, dtype=np.int64)
    elif kind == "non_positive_quantity":
        changes["quantity"] = -rng.integers(0, 3, count)
        changes["discount_amount"] = np.full(count, np.nan)
    elif kind == "closed_before_opened":
        hours_early = rng.uniform(1.0, 48.0, count)
        changes["closed_s"] = table["opened_s"][rows] - (hours_early * 3600).astype(np.int64)
        changes["csat"] = np.full(count, -1, dtype=np.int8)
    else:  # pragma: no cover - DEFECTS and this function are edited together
        raise ValueError(f"unknown defect kind {kind!r}")
    _append_copies(table, rows, changes)
    return keys


def _key_column(entity: str) -> str:
    return {
        "customers": "customer_no",
        "orders": "order_no",
        "order_lines": "order_line_no",
        "support_tickets": "ticket_no",
        "service_contracts": "contract_no",
    }[entity]


# --------------------------------------------------------------------------------------
# Writing: numpy -> pandas (zero copy) -> DuckDB COPY
# --------------------------------------------------------------------------------------

# Identifier formats; ids are built in SQL from the key numbers.
ID_FORMATS = {
    "customer": "'C%07d'",
    "product": "'P%04d'",
    "order": "'O%09d'",
    "order_line": "'L%010d'",
    "ticket": "'T%09d'",
    "contract": "'SC%07d'",
    "manager": "'AM%05d'",
}


def _id(kind: str, column: str) -> str:
    return f"printf({ID_FORMATS[kind]}, {column})"


def _day_sql(history: History, column: str) -> str:
    """A day number (0 = history start, -1 = NULL) as a DATE expression."""
    return f"CASE WHEN {column} >= 0 THEN DATE '{history.start}' + {column}::INTEGER END"


def _timestamp_sql(history: History, column: str) -> str:
    """Seconds since history start (negative = NULL) as a TIMESTAMP expression."""
    return (
        f"CASE WHEN {column} >= 0 THEN (TIMESTAMP '{history.start} 00:00:00' + to_seconds({column}))::TIMESTAMP_S END"
    )


def _copy(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, select: str, path: Path) -> int:
    """Write ``select`` over ``frame`` (registered as ``src``) to a CSV file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con.register("src", frame)
    try:
        target = str(path).replace("'", "''")
        con.execute(f"COPY ({select}) TO '{target}' (HEADER, DELIMITER ',')")
    finally:
        con.unregister("src")
    return len(frame)


def _write_customers(con: duckdb.DuckDBPyConnection, customers: Table, history: History, path: Path) -> int:
    region = customers["region"]
    slots = [country for group in COUNTRIES_BY_REGION for country in group]
    countries = tuple(dict.fromkeys(slots))
    slot_country = np.array([countries.index(country) for country in slots])
    offsets = np.cumsum([0] + [len(group) for group in COUNTRIES_BY_REGION])[:-1]
    sizes = np.array([len(group) for group in COUNTRIES_BY_REGION])
    slot = offsets[region] + (customers["country_pick"] * sizes[region]).astype(np.int64)
    country = np.where(customers["country_pick"] < 0.01, -1, slot_country[slot])  # a few unknown
    frame = pd.DataFrame(
        {
            "customer_no": customers["customer_no"],
            "name_a": _categorical(customers["name_a"], NAME_WORDS),
            "name_b": _categorical(customers["name_b"], NAME_NOUNS),
            "name_s": _categorical(customers["name_s"], NAME_SUFFIXES),
            "has_email": customers["has_email"],
            "signup_day": customers["signup_day"],
            "industry": _categorical(customers["industry"], INDUSTRIES),
            "company_size_band": _categorical(customers["size_band"], SIZE_BANDS),
            "country": _categorical(country, countries),
            "region": _categorical(region, REGIONS),
            "acquisition_channel": _categorical(customers["acquisition_channel"], ACQUISITION_CHANNELS),
            "service_plan": _categorical(customers["plan"], PLANS),
            "manager_no": customers["manager_no"],
            "acquisition_cost": customers["acquisition_cost"],
        }
    )
    select = f"""
        SELECT {_id("customer", "customer_no")} AS customer_id,
               name_a::VARCHAR || ' ' || name_b::VARCHAR || ' ' || name_s::VARCHAR AS customer_name,
               CASE WHEN has_email THEN lower(name_a::VARCHAR || '.' || name_b::VARCHAR)
                    || customer_no::VARCHAR || '@example.com' END AS email,
               {_day_sql(history, "signup_day")} AS signup_date,
               industry, company_size_band, country, region, acquisition_channel, service_plan,
               CASE WHEN manager_no > 0 THEN {_id("manager", "manager_no")} END
                   AS account_manager_id,
               acquisition_cost::DECIMAL(12, 2) AS acquisition_cost
        FROM src ORDER BY customer_no"""
    return _copy(con, frame, select, path)


def _write_products(con: duckdb.DuckDBPyConnection, catalogue: Catalogue, path: Path) -> int:
    select = f"""
        SELECT {_id("product", "product_no")} AS product_id,
               product_noun || ' ' || chr(65 + (product_no % 26)::INTEGER) || '-'
                   || (100 + product_no * 7)::VARCHAR AS product_name,
               category,
               list_price::DECIMAL(12, 2) AS list_price,
               unit_cost::DECIMAL(12, 2) AS unit_cost
        FROM src ORDER BY product_no"""
    return _copy(con, _products_frame(catalogue), select, path)


def _write_orders(con: duckdb.DuckDBPyConnection, orders: Table, history: History, path: Path) -> int:
    frame = pd.DataFrame(
        {
            "order_no": orders["order_no"],
            "customer_no": orders["customer_no"],
            "ordered_s": orders["ordered_s"],
            "status": _categorical(orders["status"], ORDER_STATUSES),
            "sales_channel": _categorical(orders["sales_channel"], SALES_CHANNELS),
            "expedited": orders["expedited"],
            "currency": _categorical(orders["currency"], CURRENCIES),
        }
    )
    select = f"""
        SELECT {_id("order", "order_no")} AS order_id,
               {_id("customer", "customer_no")} AS customer_id,
               {_timestamp_sql(history, "ordered_s")} AS ordered_at,
               status, sales_channel,
               CASE WHEN expedited >= 0 THEN expedited = 1 END AS is_expedited,
               currency
        FROM src ORDER BY order_no"""
    return _copy(con, frame, select, path)


def _write_order_lines(con: duckdb.DuckDBPyConnection, lines: Table, path: Path) -> int:
    select = f"""
        SELECT {_id("order_line", "order_line_no")} AS order_line_id,
               {_id("order", "order_no")} AS order_id,
               {_id("product", "product_no")} AS product_id,
               quantity,
               unit_price::DECIMAL(12, 2) AS unit_price,
               discount_amount::DECIMAL(12, 2) AS discount_amount
        FROM src ORDER BY order_line_no"""
    return _copy(con, pd.DataFrame(lines), select, path)


def _write_tickets(con: duckdb.DuckDBPyConnection, tickets: Table, history: History, path: Path) -> int:
    frame = pd.DataFrame(
        {
            "ticket_no": tickets["ticket_no"],
            "customer_no": tickets["customer_no"],
            "opened_s": tickets["opened_s"],
            "closed_s": tickets["closed_s"],
            "first_response_s": tickets["first_response_s"],
            "channel": _categorical(tickets["channel"], SUPPORT_CHANNELS),
            "category": _categorical(tickets["category"], TICKET_CATEGORIES),
            "priority": _categorical(tickets["priority"], PRIORITIES),
            "handle_minutes": tickets["handle_minutes"],
            "escalated": tickets["escalated"],
            "csat": tickets["csat"],
        }
    )
    # A closed_before_opened defect near the history start has negative seconds, so an open
    # ticket is marked by NO_TIME rather than by the sign.
    closed = (
        f"CASE WHEN closed_s <> {NO_TIME} THEN "
        f"(TIMESTAMP '{history.start} 00:00:00' + to_seconds(closed_s))::TIMESTAMP_S END"
    )
    first_response = (
        f"CASE WHEN first_response_s <> {NO_TIME} THEN "
        f"(TIMESTAMP '{history.start} 00:00:00' + to_seconds(first_response_s))::TIMESTAMP_S END"
    )
    select = f"""
        SELECT {_id("ticket", "ticket_no")} AS ticket_id,
               {_id("customer", "customer_no")} AS customer_id,
               {_timestamp_sql(history, "opened_s")} AS opened_at,
               {closed} AS closed_at,
               {first_response} AS first_response_at,
               channel, category, priority,
               handle_minutes::DECIMAL(10, 1) AS handle_minutes,
               escalated AS is_escalated,
               CASE WHEN csat > 0 THEN csat::INTEGER END AS csat_score
        FROM src ORDER BY ticket_no"""
    return _copy(con, frame, select, path)


def _write_contracts(con: duckdb.DuckDBPyConnection, contracts: Table, history: History, path: Path) -> int:
    frame = pd.DataFrame(
        {
            "contract_no": contracts["contract_no"],
            "customer_no": contracts["customer_no"],
            "plan": _categorical(contracts["plan"], PLANS),
            "start_day": contracts["start_day"],
            "end_day": contracts["end_day"],
            "annual_fee": contracts["annual_fee"],
        }
    )
    select = f"""
        SELECT {_id("contract", "contract_no")} AS contract_id,
               {_id("customer", "customer_no")} AS customer_id,
               plan,
               {_day_sql(history, "start_day")} AS start_date,
               {_day_sql(history, "end_day")} AS end_date,
               annual_fee::DECIMAL(12, 2) AS annual_fee,
               'USD' AS currency
        FROM src ORDER BY contract_no"""
    return _copy(con, frame, select, path)


def _write_cost_rates(con: duckdb.DuckDBPyConnection, history: History, path: Path) -> int:
    select = """
        SELECT activity, channel, valid_from::DATE AS valid_from, valid_to::DATE AS valid_to,
               rate::DECIMAL(12, 2) AS rate, 'USD' AS currency
        FROM src ORDER BY activity, channel NULLS FIRST, valid_from"""
    return _copy(con, _cost_rates_frame(history), select, path)


def _write_acquisition_spend(
    con: duckdb.DuckDBPyConnection,
    rng: np.random.Generator,
    signups: np.ndarray,
    history: History,
    path: Path,
) -> int:
    select = """
        SELECT acquisition_channel, spend_month::DATE AS spend_month,
               spend_amount::DECIMAL(14, 2) AS spend_amount, 'USD' AS currency
        FROM src ORDER BY acquisition_channel::VARCHAR, spend_month"""
    return _copy(con, _acquisition_spend_frame(rng, signups, history), select, path)


def _write_ground_truth(con: duckdb.DuckDBPyConnection, customers: Table, history: History, path: Path) -> int:
    dropout = customers["dropout"]
    churned = dropout < history.days
    frame = pd.DataFrame(
        {
            "customer_no": customers["customer_no"],
            "value_class": _categorical(customers["value_class"], VALUE_CLASSES),
            "signup_day": customers["signup_day"],
            "acquisition_channel": _categorical(customers["acquisition_channel"], ACQUISITION_CHANNELS),
            "first_order_s": (customers["first_order"] * SECONDS_PER_DAY).astype(np.int64),
            "is_one_time_buyer": customers["one_time"],
            "purchase_rate_per_year": np.where(customers["one_time"], 0.0, customers["orders_per_year"]),
            "dropout_day": np.where(churned, np.floor(dropout), -1).astype(np.int64),
            "mean_order_value": customers["order_value"],
            "lines_per_order": customers["lines_per_order"],
            "discount_rate": customers["discount_rate"],
            "return_probability": customers["return_probability"],
            "expedite_probability": customers["expedite_probability"],
            "support_tickets_per_year": customers["tickets_per_year"],
            "onboarding_tickets": customers["onboarding_tickets"],
            "preferred_support_channel": _categorical(customers["preferred_channel"], SUPPORT_CHANNELS),
            "service_plan": _categorical(customers["plan"], PLANS),
            "manager_no": customers["manager_no"],
        }
    )
    select = f"""
        SELECT {_id("customer", "customer_no")} AS customer_id,
               value_class,
               {_day_sql(history, "signup_day")} AS signup_date,
               acquisition_channel,
               {_timestamp_sql(history, "first_order_s")} AS first_order_at,
               is_one_time_buyer,
               round(purchase_rate_per_year, 3) AS purchase_rate_per_year,
               {_day_sql(history, "dropout_day")} AS dropout_date,
               dropout_day >= 0 AS is_churned,
               round(mean_order_value, 2) AS mean_order_value,
               round(lines_per_order, 2) AS lines_per_order,
               round(discount_rate, 4) AS discount_rate,
               round(return_probability, 4) AS return_probability,
               round({CANCEL_PROBABILITY}, 4) AS cancel_probability,
               round(expedite_probability, 4) AS expedite_probability,
               round(support_tickets_per_year, 3) AS support_tickets_per_year,
               onboarding_tickets,
               preferred_support_channel,
               service_plan,
               CASE WHEN manager_no > 0 THEN {_id("manager", "manager_no")} END
                   AS account_manager_id
        FROM src ORDER BY customer_no"""
    return _copy(con, frame, select, path)


def _write_defect_log(con: duckdb.DuckDBPyConnection, log: DefectLog, source_files: dict[str, str], path: Path) -> int:
    if len(log) == 0:
        frame = pd.DataFrame(
            {
                "entity": pd.Series([], dtype=object),
                "key_no": pd.Series([], dtype=np.int64),
                "defect": pd.Series([], dtype=object),
            }
        )
    else:
        frame = pd.DataFrame(
            {
                "entity": np.concatenate(log.entity),
                "key_no": np.concatenate(log.key),
                "defect": np.concatenate(log.defect),
            }
        )
    kinds = {"customers": "customer", "orders": "order", "order_lines": "order_line",
             "support_tickets": "ticket"}  # fmt: skip
    key = " ".join(f"WHEN '{e}' THEN {_id(k, 'key_no')}" for e, k in kinds.items())
    source = " ".join(f"WHEN '{e}' THEN '{f}'" for e, f in source_files.items())
    select = f"""
        SELECT entity, CASE entity {key} END AS record_key,
               CASE entity {source} END AS source_file, defect
        FROM src ORDER BY entity, record_key, defect"""
    return _copy(con, frame, select, path)


# --------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------


def _part_name(entity: str, part: int) -> str:
    return f"{entity}/{entity}_part-{part:04d}.csv"


def _month_index(history: History, days: np.ndarray) -> np.ndarray:
    """Month number (0 = the history's first month) of day numbers."""
    dates = np.datetime64(history.start, "D") + days.astype("timedelta64[D]")
    return (dates.astype("datetime64[M]") - np.datetime64(history.start, "M")).astype(np.int64)


@dataclass
class Run:
    """Everything one ``generate`` call shares between its chunks."""

    config: GeneratorConfig
    history: History
    catalogue: Catalogue
    counters: Counters
    staging: Path  # temporary output folder, swapped in at the end
    con: duckdb.DuckDBPyConnection

    def landing_file(self, entity: str, part: int) -> Path:
        return self.staging / "landing" / _part_name(entity, part)


def _generate_chunk(
    run: Run, seed: np.random.SeedSequence, part: int, first_number: int, n: int
) -> tuple[dict[str, int], DefectLog]:
    """Draw, damage and write one chunk of customers with everything they did."""
    rng = np.random.default_rng(seed)
    history, counters, con = run.history, run.counters, run.con
    customers = _draw_customers(rng, first_number, n, history)
    _assign_account_managers(rng, customers, counters)
    orders = _draw_orders(rng, customers, history, counters)
    lines = _draw_order_lines(rng, customers, orders, run.catalogue, counters)
    # An independent stream for the first responses (keyed by the seed and the part, not
    # spawned from `seed`), so the rows drawn from `rng` are the same as without them.
    response_rng = np.random.default_rng(
        np.random.SeedSequence(run.config.seed, spawn_key=(FIRST_RESPONSE_STREAM, part))
    )
    tickets = _draw_tickets(rng, response_rng, customers, history, counters)
    contracts = _draw_contracts(rng, customers, history, counters)

    month = _month_index(history, customers["signup_day"])
    np.add.at(counters.signups, (customers["acquisition_channel"], month), 1)

    # The ground truth keeps the clean customers; only the landing copy gets duplicates.
    landing_customers = {name: values.copy() for name, values in customers.items()}
    tables = {"customers": landing_customers, "orders": orders, "order_lines": lines, "support_tickets": tickets}
    log = _inject_defects(rng, tables, run)
    rows = {
        "customers": _write_customers(con, landing_customers, history, run.landing_file("customers", part)),
        "orders": _write_orders(con, orders, history, run.landing_file("orders", part)),
        "order_lines": _write_order_lines(con, lines, run.landing_file("order_lines", part)),
        "support_tickets": _write_tickets(con, tickets, history, run.landing_file("support_tickets", part)),
        "service_contracts": _write_contracts(con, contracts, history, run.landing_file("service_contracts", part)),
    }
    parts = run.staging / "parts"
    _write_ground_truth(con, customers, history, parts / f"customers_{part:04d}.csv")
    sources = {entity: _part_name(entity, part) for entity in DEFECTS}
    _write_defect_log(con, log, sources, parts / f"injected_defects_{part:04d}.csv")
    return rows, log


def _concatenate_csv(parts: list[Path], target: Path) -> None:
    """Join CSV files with identical headers, keeping the first header only."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        for index, part in enumerate(parts):
            with part.open("rb") as source:
                header = source.readline()
                if index == 0:
                    out.write(header)
                shutil.copyfileobj(source, out)


def _publish(staging: Path, out_dir: Path) -> None:
    """Swap the freshly written files in, replacing only the generator's own output.

    Each entity folder is replaced whole, so part files of an earlier, larger run cannot
    linger and be loaded as current data; other folders under landing are left alone.
    """
    landing = out_dir / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    retired = staging / "retired"
    retired.mkdir()
    for entity in ENTITIES:
        target = landing / entity
        if target.exists():
            target.replace(retired / entity)
        (staging / "landing" / entity).replace(target)
    truth = out_dir / "ground_truth"
    truth.mkdir(parents=True, exist_ok=True)
    for name in ("customers.csv", "injected_defects.csv"):
        (staging / "ground_truth" / name).replace(truth / name)


def generate(
    config: GeneratorConfig, out_dir: Path, progress: Callable[[str], None] | None = None
) -> GenerationSummary:
    """Write a complete sample data set under ``out_dir`` (landing/ and ground_truth/).

    The data is written to a temporary folder inside ``out_dir`` first and swapped in at
    the end, so a failure never leaves a half-written data set behind.
    """
    if config.customers < 1 or config.years < 1 or config.chunk_customers < 1:
        raise ValueError("customers, years and chunk_customers must be positive")
    if not 0 <= config.defect_rate < 0.5:
        raise ValueError("defect_rate must be in [0, 0.5)")
    began = time.perf_counter()
    report = progress or (lambda _message: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    history = History.of(config)
    chunks = math.ceil(config.customers / config.chunk_customers)
    catalogue_seed, spend_seed, *chunk_seeds = np.random.SeedSequence(config.seed).spawn(2 + chunks)
    catalogue = _draw_catalogue(np.random.default_rng(catalogue_seed))
    months = int(_month_index(history, np.array([history.days - 1]))[0]) + 1
    counters = Counters(signups=np.zeros((len(ACQUISITION_CHANNELS), months), dtype=np.int64))

    staging = Path(tempfile.mkdtemp(prefix=".generate-", dir=out_dir))
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        run = Run(config, history, catalogue, counters, staging, con)
        rows = dict.fromkeys(ENTITIES, 0)
        defects = 0
        for index, seed in enumerate(chunk_seeds):
            first = index * config.chunk_customers + 1
            n = min(config.chunk_customers, config.customers - first + 1)
            chunk_rows, log = _generate_chunk(run, seed, index + 1, first, n)
            for entity, count in chunk_rows.items():
                rows[entity] += count
            defects += len(log)
            report(
                f"chunk {index + 1}/{chunks}: {n:,} customers, {chunk_rows['orders']:,} orders, "
                f"{chunk_rows['order_lines']:,} order lines, {chunk_rows['support_tickets']:,} tickets"
            )
        rows["products"] = _write_products(con, catalogue, run.landing_file("products", 1))
        rows["cost_rates"] = _write_cost_rates(con, history, run.landing_file("cost_rates", 1))
        spend_rng = np.random.default_rng(spend_seed)
        rows["acquisition_spend"] = _write_acquisition_spend(
            con, spend_rng, counters.signups, history, run.landing_file("acquisition_spend", 1)
        )
        for name in ("customers", "injected_defects"):
            parts = sorted((staging / "parts").glob(f"{name}_*.csv"))
            _concatenate_csv(parts, staging / "ground_truth" / f"{name}.csv")
        _publish(staging, out_dir)
    finally:
        con.close()
        shutil.rmtree(staging, ignore_errors=True)
    seconds = time.perf_counter() - began
    report(f"wrote {sum(rows.values()):,} rows ({defects:,} defects) in {seconds:.1f} s")
    return GenerationSummary(out_dir=out_dir, rows=rows, defects=defects, seconds=seconds)
