"""The two baselines of the benchmark, and the check that they compute what the marts hold.

Baseline (a), bench/baseline.sql: one hand-written DuckDB script. Baseline (b), this file's
`pandas_baseline`: the same definitions in pandas. Both read the raw relations and the seeds
only, and produce three results:

    rolling_profitability  customer_id -> the rolling-12-month P&L  (mart customer_profitability)
    rfm_summary            (summary_type, customer_id) -> RFM in weeks  (int_customer_rfm_summarized)
    value_tiers            customer_id -> tier, score, rank  (int_segment_value_tiers_assigned)

`check_against_marts` compares them with the warehouse dbt built from the same raw tables:
same keys, amounts within one cent, weeks and scores within 1e-6 (relative), counts, ranks
and tiers equal. A baseline that computes something else is no baseline, so the bench fails.

Run one baseline (the bench does, in a child process, to measure its own peak memory):
    python bench/baselines.py sql --data-dir DIR [--check]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
BASELINE_SQL = Path(__file__).resolve().parent / "baseline.sql"
SEEDS_DIR = ROOT / "seeds"
ENTITIES = (
    "customers",
    "products",
    "orders",
    "order_lines",
    "support_tickets",
    "cost_rates",
    "acquisition_spend",
    "service_contracts",
)
RESULT_KEYS = {
    "rolling_profitability": ["customer_id"],
    "rfm_summary": ["summary_type", "customer_id"],
    "value_tiers": ["customer_id"],
}
MONEY_TOLERANCE = 0.01  # one cent, absolute
RELATIVE_TOLERANCE = 1e-6


# --- the raw relations: the one place that knows where they live ---------------------------


def open_raw(data_dir: Path, memory_limit: str = "4GB", threads: int = 2) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection where raw.<entity> reads the raw data of `data_dir`.

    A Parquet raw zone ($DATA_DIR/raw/<entity>/*.parquet) is read directly when present;
    otherwise the working warehouse is attached read-only and its raw.<entity> tables are used.
    Both baselines read only through this function, so a change of where raw lives is one edit.
    """
    spill = data_dir / ".baseline_tmp"
    con = duckdb.connect(config={"memory_limit": memory_limit, "threads": threads, "temp_directory": str(spill)})
    con.execute("create schema raw")
    parquet_zone = data_dir / "raw"
    for entity in ENTITIES:
        files = parquet_zone / entity
        if files.is_dir() and any(files.glob("*.parquet")):
            con.execute(
                f"create view raw.{entity} as select * from read_parquet('{files}/*.parquet', union_by_name = true)"
            )
    missing = [e for e in ENTITIES if not _has_view(con, e)]
    if missing:
        con.execute(f"attach '{data_dir / 'warehouse.duckdb'}' as warehouse (read_only)")
        for entity in missing:
            con.execute(f"create view raw.{entity} as select * from warehouse.raw.{entity}")
    return con


def _has_view(con: duckdb.DuckDBPyConnection, entity: str) -> bool:
    query = "select count(*) from duckdb_views() where schema_name = 'raw' and view_name = ?"
    return con.execute(query, [entity]).fetchone()[0] > 0


# --- baseline (a): the SQL script -----------------------------------------------------------


def allowed_values() -> dict[str, str]:
    """'{allowed:entity.column}' -> SQL list literal, from the data contract (or the seed it names)."""
    from segmentation.ingest.contract import allowed_values, load_contract

    literals = {}
    for entity in load_contract().entities:
        for column in entity.columns:
            allowed = allowed_values(column)
            if allowed:
                quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in allowed)
                literals[f"{{allowed:{entity.name}.{column.name}}}"] = f"({quoted})"
    return literals


def render_sql() -> str:
    text = BASELINE_SQL.read_text(encoding="utf-8").replace("{seeds}", str(SEEDS_DIR))
    for placeholder, literal in allowed_values().items():
        text = text.replace(placeholder, literal)
    left = re.findall(r"\{allowed:[^}]+\}", text)
    if left:
        raise SystemExit(f"{BASELINE_SQL}: no allowed values in the contract for {sorted(set(left))}")
    return text


def run_sql_script(con: duckdb.DuckDBPyConnection) -> None:
    """Baseline (a): the results end up in temp tables baseline_<result> of `con`."""
    con.execute(render_sql())


def fetch_sql_results(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    return {name: con.sql(f"select * from baseline_{name}").df() for name in RESULT_KEYS}


def sql_baseline(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    run_sql_script(con)
    return fetch_sql_results(con)


# --- baseline (b): pandas -------------------------------------------------------------------


def read_raw_frames(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """Every raw relation as a DataFrame, decimals as float64 (pandas has no fast decimal)."""
    frames = {}
    for entity in ENTITIES:
        columns = con.execute(f"describe raw.{entity}").fetchall()
        select = ", ".join(
            f'cast("{name}" as double) as "{name}"' if kind.startswith("DECIMAL") else f'"{name}"'
            for name, kind, *_ in columns
        )
        frames[entity] = con.sql(f"select {select} from raw.{entity}").df()
    return frames


def _current(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """The latest loaded version of each key (the models' latest_version_rank = 1)."""
    ordered = frame.sort_values(["_loaded_at", "_source_file", "_source_line_number"], ascending=False, kind="stable")
    return ordered.drop_duplicates(key, keep="first")


def _fires(rule: pd.Series) -> pd.Series:
    """A rule on a null value does not fire (SQL: case when null -> else)."""
    return rule.fillna(False).astype(bool)


def _not_in(values: pd.Series, allowed: tuple[str, ...]) -> pd.Series:
    return values.notna() & ~values.isin(allowed)


def pandas_baseline(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    from segmentation.ingest.contract import allowed_values, load_contract

    contract = load_contract()

    def allowed(entity: str, column: str) -> tuple[str, ...]:
        return allowed_values(contract.entity(entity).column(column))

    raw = read_raw_frames(con)

    # Clean rows of every entity.
    customers = _current(raw["customers"], ["customer_id"]).copy()
    customers["acquisition_channel"] = customers["acquisition_channel"].str.lower()
    customers["is_clean"] = ~(
        _fires(customers["signup_date"] > customers["_loaded_at"].dt.normalize())
        | _not_in(customers["acquisition_channel"], allowed("customers", "acquisition_channel"))
        | _not_in(customers["industry"].str.lower(), allowed("customers", "industry"))
        | _not_in(customers["company_size_band"], allowed("customers", "company_size_band"))
        | _not_in(customers["region"].str.lower(), allowed("customers", "region"))
        | _not_in(customers["service_plan"].str.lower(), allowed("customers", "service_plan"))
        | _fires(customers["acquisition_cost"] < 0)
    )
    clean_customer_ids = customers.loc[customers["is_clean"], "customer_id"]
    customers_clean = customers[customers["is_clean"]]

    products = _current(raw["products"], ["product_id"])
    products = products[
        ~(
            _not_in(products["category"].str.lower(), allowed("products", "category"))
            | _fires(products["list_price"] < 0)
            | _fires(products["unit_cost"] < 0)
        )
    ][["product_id", "unit_cost"]]

    orders = _current(raw["orders"], ["order_id"]).copy()
    orders["order_status"] = orders["status"].str.lower()
    orders["ordered_date"] = orders["ordered_at"].dt.normalize()
    orders["is_expedited"] = orders["is_expedited"].fillna(False).astype(bool)
    orders["is_clean"] = orders["customer_id"].isin(clean_customer_ids) & ~(
        _fires(orders["ordered_at"] > orders["_loaded_at"])
        | _not_in(orders["order_status"], allowed("orders", "status"))
        | _not_in(orders["sales_channel"].str.lower(), allowed("orders", "sales_channel"))
        | (orders["currency"].fillna("USD").str.upper() != "USD")
    )
    clean_order_ids = orders.loc[orders["is_clean"], "order_id"]
    orders = orders[orders["is_clean"]][["order_id", "customer_id", "ordered_date", "order_status", "is_expedited"]]

    lines = _current(raw["order_lines"], ["order_line_id"])
    discount = lines["discount_amount"].fillna(0)
    gross = lines["quantity"] * lines["unit_price"]
    in_range = (lines["quantity"].abs() < 1e9) & (lines["unit_price"].abs() < 1e12)
    lines = lines[
        lines["order_id"].isin(clean_order_ids)
        & lines["product_id"].isin(products["product_id"])
        & ~(
            _fires(lines["quantity"] <= 0)
            | _fires(lines["unit_price"] < 0)
            | _fires(discount < 0)
            | ~_fires(in_range)
            | _fires((gross >= 0) & (discount > gross))
        )
    ].assign(discount_amount=discount)[["order_id", "product_id", "quantity", "unit_price", "discount_amount"]]

    tickets = _current(raw["support_tickets"], ["ticket_id"]).copy()
    tickets["support_channel"] = tickets["channel"].str.lower()
    tickets = tickets[
        tickets["customer_id"].isin(clean_customer_ids)
        & ~(
            _fires(tickets["opened_at"] > tickets["_loaded_at"])
            | _fires(tickets["closed_at"] < tickets["opened_at"])
            | _fires(tickets["first_response_at"] < tickets["opened_at"])
            | _not_in(tickets["support_channel"], allowed("support_tickets", "channel"))
            | _not_in(tickets["category"].str.lower(), allowed("support_tickets", "category"))
            | _not_in(tickets["priority"].str.lower(), allowed("support_tickets", "priority"))
            | _fires(tickets["handle_minutes"] < 0)
            | _fires((tickets["csat_score"] < 1) | (tickets["csat_score"] > 5))
        )
    ].assign(opened_date=lambda t: t["opened_at"].dt.normalize())

    contracts = _current(raw["service_contracts"], ["contract_id"]).copy()
    contracts["service_plan"] = contracts["plan"].str.lower()
    contracts = contracts[
        contracts["customer_id"].isin(clean_customer_ids)
        & ~(
            _not_in(contracts["service_plan"], allowed("service_contracts", "plan"))
            | _fires(contracts["end_date"] < contracts["start_date"])
            | _fires(contracts["annual_fee"] < 0)
            | (contracts["currency"].fillna("USD").str.upper() != "USD")
        )
    ]

    rates = raw["cost_rates"].assign(
        activity=lambda r: r["activity"].str.lower(),
        support_channel=lambda r: r["channel"].str.lower(),
        channel_key=lambda r: r["channel"].str.lower().fillna(""),
    )
    rates = _current(rates, ["activity", "channel_key", "valid_from"])
    overlaps = rates.merge(rates, on=["activity", "channel_key"], suffixes=("", "_later"))
    overlaps = overlaps[
        (overlaps["valid_from"] < overlaps["valid_from_later"])
        & (overlaps["valid_to"].isna() | (overlaps["valid_to"] > overlaps["valid_from_later"]))
    ]
    overlapping = set(zip(overlaps["activity"], overlaps["channel_key"], overlaps["valid_from"], strict=True))
    is_support = rates["activity"] == "support_minute"
    rates = rates[
        ~(
            _not_in(rates["activity"], allowed("cost_rates", "activity"))
            | (is_support & rates["support_channel"].isna())
            | (is_support & _not_in(rates["support_channel"], allowed("support_tickets", "channel")))
            | _fires(rates["valid_to"] <= rates["valid_from"])
            | _fires(rates["rate"] < 0)
            | (rates["currency"].fillna("USD").str.upper() != "USD")
            | pd.Series(
                [
                    k in overlapping
                    for k in zip(rates["activity"], rates["channel_key"], rates["valid_from"], strict=True)
                ],
                index=rates.index,
            )
        )
    ]

    spend = raw["acquisition_spend"].assign(acquisition_channel=lambda s: s["acquisition_channel"].str.lower())
    spend = _current(spend, ["acquisition_channel", "spend_month"])
    spend = spend[
        ~(
            _not_in(spend["acquisition_channel"], allowed("acquisition_spend", "acquisition_channel"))
            | (spend["spend_month"] != spend["spend_month"].dt.to_period("M").dt.to_timestamp())
            | _fires(spend["spend_amount"] < 0)
            | (spend["currency"].fillna("USD").str.upper() != "USD")
        )
    ]

    # The review.
    review_date = orders["ordered_date"].max()
    rolling_start = review_date - pd.DateOffset(months=12) + pd.Timedelta(days=1)

    # Facts at activity grain, on or before the review date.
    orders = orders[orders["ordered_date"] <= review_date]
    line_facts = lines.merge(orders, on="order_id").merge(products, on="product_id")
    completed = line_facts["order_status"] == "completed"
    line_facts["order_revenue"] = np.where(
        completed, line_facts["quantity"] * line_facts["unit_price"] - line_facts["discount_amount"], 0.0
    )
    line_facts["cogs"] = np.where(completed, line_facts["quantity"] * line_facts["unit_cost"], 0.0)
    line_facts = line_facts[["customer_id", "ordered_date", "order_status", "order_revenue", "cogs"]]

    tickets = tickets[tickets["opened_date"] <= review_date]
    activities = pd.concat(
        [
            tickets[tickets["handle_minutes"] > 0].assign(
                kind="support", rate_activity="support_minute", quantity=lambda t: t["handle_minutes"]
            ),
            tickets[tickets["is_escalated"].fillna(False).astype(bool)].assign(
                kind="escalation", rate_activity="escalation", quantity=1.0
            ),
        ]
    ).rename(columns={"opened_date": "activity_date"})[
        ["customer_id", "activity_date", "kind", "rate_activity", "support_channel", "quantity"]
    ]
    order_activities = pd.concat(
        [
            orders[orders["order_status"] == "returned"].assign(kind="return", rate_activity="return"),
            orders[orders["is_expedited"] & orders["order_status"].isin(["completed", "returned"])].assign(
                kind="expedited", rate_activity="expedited_order"
            ),
        ]
    ).rename(columns={"ordered_date": "activity_date"})
    order_activities = order_activities.assign(support_channel=None, quantity=1.0)[activities.columns]
    activities = pd.concat([activities, order_activities], ignore_index=True)
    activities["cost"] = _rate_activities(activities, rates)

    # Account management: manager months, the rate valid at month end, split per customer.
    managed = customers_clean[
        customers_clean["account_manager_id"].notna() & (customers_clean["signup_date"] <= review_date)
    ][["customer_id", "signup_date", "account_manager_id"]]
    first_months = managed.groupby("account_manager_id")["signup_date"].min().dt.to_period("M")
    last_month = (review_date + pd.Timedelta(days=1)).to_period("M") - 1  # the last complete month
    manager_months = pd.DataFrame(
        [
            (manager, month)
            for manager, first in first_months.items()
            for month in pd.period_range(first, last_month, freq="M")
        ],
        columns=["account_manager_id", "month"],
    )
    manager_months["month_end"] = manager_months["month"].dt.end_time.dt.normalize()
    month_ends = np.sort(manager_months["month_end"].unique())
    signed = managed.assign(
        first_month_end=month_ends[np.searchsorted(month_ends, managed["signup_date"].values)]
        if len(month_ends)
        else []
    )
    assigned = (
        signed.groupby(["account_manager_id", "first_month_end"])
        .size()
        .rename("joined")
        .reset_index()
        .rename(columns={"first_month_end": "month_end"})
    )
    manager_months = manager_months.merge(assigned, on=["account_manager_id", "month_end"], how="left").fillna(
        {"joined": 0}
    )
    manager_months = manager_months.sort_values(["account_manager_id", "month_end"])
    manager_months["assigned_customers"] = manager_months.groupby("account_manager_id")["joined"].cumsum()
    manager_months = manager_months[manager_months["assigned_customers"] > 0]
    manager_rates = rates[rates["activity"] == "account_manager_year"]
    manager_months["annual_rate"] = _rate_on(manager_months["month_end"], manager_rates)
    manager_months["allocated_cost"] = (
        manager_months["annual_rate"].fillna(0) / 12 / manager_months["assigned_customers"]
    )
    account_management = managed.merge(manager_months, on="account_manager_id")
    account_management = account_management[account_management["signup_date"] <= account_management["month_end"]]
    account_management = account_management.rename(columns={"month_end": "activity_date", "allocated_cost": "cost"})[
        ["customer_id", "activity_date", "cost"]
    ].assign(kind="account_management")

    # Acquisition.
    known = customers_clean[customers_clean["signup_date"] <= review_date].assign(
        signup_month=lambda c: c["signup_date"].dt.to_period("M").dt.to_timestamp()
    )
    acquired = known.groupby(["acquisition_channel", "signup_month"]).size().rename("acquired").reset_index()
    per_customer = spend.merge(
        acquired, left_on=["acquisition_channel", "spend_month"], right_on=["acquisition_channel", "signup_month"]
    )
    per_customer["spend_per_customer"] = per_customer["spend_amount"] / per_customer["acquired"]
    acquisition = known.merge(
        per_customer[["acquisition_channel", "signup_month", "spend_per_customer"]],
        on=["acquisition_channel", "signup_month"],
        how="left",
    )
    acquisition["cost"] = acquisition["acquisition_cost"].fillna(acquisition["spend_per_customer"]).fillna(0.0)

    # Contracts: covered days up to the review date.
    contracts = contracts[contracts["start_date"] <= review_date].copy()
    contracts["covered_until"] = contracts["end_date"].fillna(review_date).clip(upper=review_date)

    # Customer profitability over the rolling window.
    def in_window(frame: pd.DataFrame, column: str) -> pd.DataFrame:
        return frame[(frame[column] >= rolling_start) & (frame[column] <= review_date)]

    window_lines = in_window(line_facts, "ordered_date").groupby("customer_id")[["order_revenue", "cogs"]].sum()
    window_orders = in_window(orders, "ordered_date").assign(completed=lambda o: o["order_status"] == "completed")
    window_orders = window_orders.groupby("customer_id").agg(
        orders=("order_id", "size"), completed_orders=("completed", "sum")
    )
    window_tickets = in_window(tickets, "opened_date").groupby("customer_id").size().rename("tickets")
    costs = pd.concat([activities[["customer_id", "activity_date", "kind", "cost"]], account_management])
    window_costs = in_window(costs, "activity_date").pivot_table(
        index="customer_id", columns="kind", values="cost", aggfunc="sum", fill_value=0.0
    )
    window_costs = window_costs.reindex(
        columns=["support", "escalation", "return", "expedited", "account_management"], fill_value=0.0
    )
    window_costs.columns = [
        "cost_to_serve_support",
        "cost_to_serve_escalations",
        "cost_to_serve_returns",
        "cost_to_serve_expedited",
        "cost_to_serve_account_management",
    ]
    touching = contracts[contracts["covered_until"] >= rolling_start]
    covered_days = (touching["covered_until"] - touching["start_date"].clip(lower=rolling_start)).dt.days + 1
    window_contracts = (
        (touching["annual_fee"] / 365 * covered_days).groupby(touching["customer_id"]).sum().rename("contract_revenue")
    )
    window_acquisition = (
        in_window(acquisition, "signup_date").groupby("customer_id")["cost"].sum().rename("acquisition_cost")
    )
    population = pd.Index(known["customer_id"]).union(window_lines.index).union(window_orders.index)
    population = population.union(window_tickets.index).union(window_costs.index).union(window_contracts.index)
    rolling = pd.DataFrame(index=population.rename("customer_id"))
    for part in (window_lines, window_contracts, window_costs, window_acquisition, window_orders, window_tickets):
        rolling = rolling.join(part)
    rolling = rolling.fillna(0)
    rolling["net_revenue"] = rolling["order_revenue"] + rolling["contract_revenue"]
    rolling["gross_margin"] = rolling["net_revenue"] - rolling["cogs"]
    rolling["cost_to_serve"] = rolling[list(window_costs.columns)].sum(axis=1)
    rolling["net_profit"] = rolling["gross_margin"] - rolling["cost_to_serve"] - rolling["acquisition_cost"]

    # RFM summary.
    purchase_days = (
        line_facts[line_facts["order_status"] == "completed"]
        .assign(gross_margin=lambda f: f["order_revenue"] - f["cogs"])
        .groupby(["customer_id", "ordered_date"], as_index=False)["gross_margin"]
        .sum()
        .sort_values(["customer_id", "ordered_date"])
    )
    calibration_date = review_date - pd.Timedelta(days=182)
    summaries = []
    for summary_type, as_of in (("review", review_date), ("calibration", calibration_date)):
        days = purchase_days[purchase_days["ordered_date"] <= as_of]
        first_day = ~days["customer_id"].duplicated()
        by_customer = days.assign(repeat_margin=days["gross_margin"].where(~first_day)).groupby("customer_id")
        summary = by_customer.agg(
            first_purchase_date=("ordered_date", "min"),
            last_purchase_date=("ordered_date", "max"),
            purchases=("ordered_date", "size"),
            total_margin=("gross_margin", "sum"),
        )
        summary["repeat_margin"] = by_customer["repeat_margin"].sum(min_count=1)
        summary["frequency"] = summary["purchases"] - 1
        summary["recency_weeks"] = (summary["last_purchase_date"] - summary["first_purchase_date"]).dt.days / 7.0
        summary["age_weeks"] = (as_of - summary["first_purchase_date"]).dt.days / 7.0
        summary["mean_repeat_margin"] = (summary["repeat_margin"] / summary["frequency"]).where(
            summary["frequency"] > 0
        )
        if summary_type == "calibration":
            holdout = purchase_days[
                (purchase_days["ordered_date"] > as_of) & (purchase_days["ordered_date"] <= review_date)
            ]
            summary["holdout_purchases"] = holdout.groupby("customer_id").size().reindex(summary.index).fillna(0)
        else:
            summary["holdout_purchases"] = np.nan
        summaries.append(summary.assign(summary_type=summary_type).reset_index())
    rfm = pd.concat(summaries, ignore_index=True)[
        [
            "summary_type",
            "customer_id",
            "frequency",
            "recency_weeks",
            "age_weeks",
            "mean_repeat_margin",
            "total_margin",
            "holdout_purchases",
        ]
    ]

    # Value tiers.
    lifetime_margin = (line_facts["order_revenue"] - line_facts["cogs"]).groupby(line_facts["customer_id"]).sum()
    lifetime_contracts = (
        (contracts["annual_fee"] / 365 * ((contracts["covered_until"] - contracts["start_date"]).dt.days + 1))
        .groupby(contracts["customer_id"])
        .sum()
    )
    lifetime_costs = activities.groupby("customer_id")["cost"].sum()
    population = (
        pd.Index(known["customer_id"]).union(line_facts["customer_id"].unique()).union(orders["customer_id"].unique())
    )
    population = population.union(tickets["customer_id"].unique()).union(contracts["customer_id"].unique())
    on_review = contracts[contracts["end_date"].isna() | (contracts["end_date"] >= review_date)]
    plans = on_review.sort_values(["annual_fee", "start_date", "contract_id"], ascending=[False, False, True])
    plans = plans.drop_duplicates("customer_id").set_index("customer_id")["service_plan"]
    size_groups = pd.read_csv(SEEDS_DIR / "size_band_groups.csv", dtype=str).set_index("company_size_band")[
        "size_group"
    ]
    profile_customers = customers_clean.set_index("customer_id")
    profiles = pd.DataFrame(index=population.rename("customer_id"))
    profiles["tenure_days"] = (review_date - profile_customers["signup_date"].reindex(population)).dt.days.values
    # Amounts in cents-and-below as the warehouse keeps them (6 decimals): float sums differ
    # in the last bits with the order of addition, and customers with equal amounts must tie
    # (ranks break ties by customer_id).
    profiles["contribution"] = np.round(
        (
            lifetime_margin.reindex(population).fillna(0).round(6)
            + lifetime_contracts.reindex(population).fillna(0).round(6)
            - lifetime_costs.reindex(population).fillna(0).round(6)
        ).values,
        6,
    )
    band_of_size = profile_customers["company_size_band"].reindex(population).map(size_groups)
    profiles["value_prior_key"] = (
        plans.reindex(population).fillna("none").values
        + " / "
        + band_of_size.fillna("unknown").values
        + " / "
        + profile_customers["acquisition_channel"].reindex(population).fillna("(none)").values
    )
    tenure_bands = pd.read_csv(SEEDS_DIR / "tenure_bands.csv")
    tenure_months = profiles["tenure_days"] * 12.0 / 365.25
    profiles["tenure_band"] = None
    for band in tenure_bands.itertuples():
        upper = np.inf if pd.isna(band.max_tenure_months) else band.max_tenure_months
        profiles.loc[(tenure_months >= band.min_tenure_months) & (tenure_months < upper), "tenure_band"] = (
            band.tenure_band
        )
    tenure_years = profiles["tenure_days"] / 365.25
    profiles["value_score_years"] = tenure_years.where(tenure_years > 0.25, 0.25)
    profiles["observed"] = profiles["contribution"] / profiles["value_score_years"]
    reference = profiles[tenure_years >= 1]
    cells = reference.groupby("value_prior_key")["observed"].agg(["mean", "size"])
    overall = reference["observed"].mean() if len(reference) else 0.0
    cell_mean = profiles["value_prior_key"].map(cells["mean"])
    cell_size = profiles["value_prior_key"].map(cells["size"]).fillna(0)
    prior = cell_mean.where(cell_size >= 3, overall)
    weight = 0.1 / (profiles["value_score_years"] + 0.1)
    profiles["value_score"] = (1 - weight) * profiles["observed"] + weight * prior
    ranked = profiles.reset_index().sort_values(["value_score", "customer_id"], ascending=[False, True])
    band_key = ranked["tenure_band"].fillna("\0none")
    ranked["value_rank"] = ranked.groupby(band_key).cumcount() + 1
    ranked["ranked_customers"] = ranked.groupby(band_key)["customer_id"].transform("size")
    share = ranked["value_rank"] / ranked["ranked_customers"]
    rules = pd.read_csv(SEEDS_DIR / "value_tier_rules.csv").sort_values("tier_rank")
    tier = pd.Series(None, index=ranked.index, dtype=object)
    for rule in rules.itertuples():
        meets = pd.Series(True, index=ranked.index)
        if not pd.isna(rule.min_value_score):
            meets &= ranked["value_score"] >= rule.min_value_score
        if not pd.isna(rule.max_cumulative_share):
            meets &= share <= rule.max_cumulative_share
        tier = tier.where(tier.notna() | ~meets, rule.value_tier)
    ranked["value_tier"] = tier
    tiers = ranked[["customer_id", "tenure_band", "value_score", "value_rank", "ranked_customers", "value_tier"]]

    return {"rolling_profitability": rolling.reset_index(), "rfm_summary": rfm, "value_tiers": tiers}


def _rate_on(dates: pd.Series, rates: pd.DataFrame) -> pd.Series:
    """The rate valid on each date (valid_from <= date < valid_to), NaN without one."""
    result = pd.Series(np.nan, index=dates.index)
    for rate in rates.itertuples():
        valid = (dates >= rate.valid_from) & (pd.isna(rate.valid_to) or True)
        if not pd.isna(rate.valid_to):
            valid &= dates < rate.valid_to
        result = result.where(~valid, rate.rate)
    return result


def _rate_activities(activities: pd.DataFrame, rates: pd.DataFrame) -> pd.Series:
    """quantity x the rate of the activity (and channel, for support minutes) valid on its date."""
    cost = pd.Series(0.0, index=activities.index)
    for rate_activity, group in activities.groupby("rate_activity"):
        candidates = rates[rates["activity"] == rate_activity]
        if rate_activity == "support_minute":
            for channel, by_channel in group.groupby("support_channel"):
                rate = _rate_on(by_channel["activity_date"], candidates[candidates["support_channel"] == channel])
                cost.loc[by_channel.index] = (by_channel["quantity"] * rate).fillna(0.0)
        else:
            rate = _rate_on(group["activity_date"], candidates)
            cost.loc[group.index] = (group["quantity"] * rate).fillna(0.0)
    return cost


# --- the check against the marts -----------------------------------------------------------

MART_QUERIES = {
    "rolling_profitability": """
        select * from marts.customer_profitability where period_type like 'rolling_%'
    """,
    "rfm_summary": "select * from intermediate.int_customer_rfm_summarized",
    "value_tiers": "select * from intermediate.int_segment_value_tiers_assigned",
}
COMPARED = {
    "rolling_profitability": {
        "money": [
            "order_revenue",
            "contract_revenue",
            "net_revenue",
            "cogs",
            "gross_margin",
            "cost_to_serve_support",
            "cost_to_serve_escalations",
            "cost_to_serve_returns",
            "cost_to_serve_expedited",
            "cost_to_serve_account_management",
            "cost_to_serve",
            "acquisition_cost",
            "net_profit",
        ],
        "exact": ["orders", "completed_orders", "tickets"],
        "relative": [],
    },
    "rfm_summary": {
        "money": ["mean_repeat_margin", "total_margin"],
        "exact": ["frequency", "holdout_purchases"],
        "relative": ["recency_weeks", "age_weeks"],
    },
    "value_tiers": {
        "money": [],
        "exact": ["value_tier", "value_rank", "ranked_customers", "tenure_band"],
        "relative": ["value_score"],
    },
}


def read_marts(warehouse: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        schemas = {row[0] for row in con.execute("select distinct schema_name from duckdb_tables()").fetchall()}
        frames = {}
        for name, query in MART_QUERIES.items():
            # The dbt schemas are named <target schema>_<custom> or <custom>; find them by suffix.
            for logical in ("marts", "intermediate"):
                actual = next((s for s in sorted(schemas) if s == logical or s.endswith("_" + logical)), logical)
                query = query.replace(f"{logical}.", f"{actual}.")
            frames[name] = con.sql(query).df()
    return frames


def check_against_marts(results: dict[str, pd.DataFrame], marts: dict[str, pd.DataFrame]) -> list[str]:
    """Every difference between a baseline's results and the marts, as one line each."""
    problems = []
    for name, keys in RESULT_KEYS.items():
        ours, theirs = results[name], marts[name]
        merged = ours.merge(theirs, on=keys, how="outer", suffixes=("", "_mart"), indicator=True)
        only = merged[merged["_merge"] != "both"]
        if len(only):
            problems.append(
                f"{name}: {len(only)} keys in only one side, e.g. {only[[*keys, '_merge']].head(3).to_dict('records')}"
            )
        both = merged[merged["_merge"] == "both"]
        spec = COMPARED[name]
        for column in spec["money"] + spec["relative"] + spec["exact"]:
            mine, mart = both[column], both[column + "_mart"]
            if column in spec["exact"]:
                a = mine.astype(object).where(mine.notna(), None)
                b = mart.astype(object).where(mart.notna(), None)
                if column in (
                    "value_rank",
                    "ranked_customers",
                    "frequency",
                    "holdout_purchases",
                    "orders",
                    "completed_orders",
                    "tickets",
                ):
                    a = pd.to_numeric(mine).astype(float)
                    b = pd.to_numeric(mart).astype(float)
                    differs = ~((a == b) | (a.isna() & b.isna()))
                else:
                    differs = ~((a == b) | (mine.isna() & mart.isna()))
            else:
                a = pd.to_numeric(mine).astype(float)
                b = pd.to_numeric(mart).astype(float)
                tolerance = (
                    MONEY_TOLERANCE if column in spec["money"] else RELATIVE_TOLERANCE * np.maximum(1.0, b.abs())
                )
                differs = ~(((a - b).abs() <= tolerance) | (a.isna() & b.isna()))
            if differs.any():
                sample = both.loc[differs, [*keys, column, column + "_mart"]].head(3).to_dict("records")
                problems.append(f"{name}.{column}: {int(differs.sum())} of {len(both)} rows differ, e.g. {sample}")
        if not len(both):
            problems.append(f"{name}: no rows to compare")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("baseline", choices=["sql", "pandas"])
    parser.add_argument("--data-dir", type=Path, required=True, help="SEGMENTATION_DATA_DIR of a built warehouse")
    parser.add_argument(
        "--check", action="store_true", help="compare the results with the marts (exit 1 on a difference)"
    )
    parser.add_argument("--memory-limit", default="4GB")
    args = parser.parse_args()

    # Timed: from opening the raw relations to the results (for SQL: in DuckDB tables, as a
    # script run in the duckdb shell would leave them; fetching them for the check is not timed).
    started, cpu_started = time.perf_counter(), time.process_time()
    con = open_raw(args.data_dir, memory_limit=args.memory_limit)
    if args.baseline == "sql":
        run_sql_script(con)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        results = (
            fetch_sql_results(con)
            if args.check
            else {name: con.sql(f"select * from baseline_{name}").limit(0).df() for name in RESULT_KEYS}
        )
        rows = {name: con.execute(f"select count(*) from baseline_{name}").fetchone()[0] for name in RESULT_KEYS}
    else:
        results = pandas_baseline(con)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        rows = {k: len(v) for k, v in results.items()}
    con.close()
    report = {"baseline": args.baseline, "seconds": seconds, "cpu_seconds": cpu_seconds, "rows": rows}
    if args.check:
        report["problems"] = check_against_marts(results, read_marts(args.data_dir / "warehouse.duckdb"))
    print(json.dumps(report))
    return 1 if report.get("problems") else 0


if __name__ == "__main__":
    sys.exit(main())
