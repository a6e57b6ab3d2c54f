"""The models incremental by customer equal a full refresh after new loads.

int_customer_category_days_aggregated, int_customer_order_days_aggregated,
int_cost_to_serve_activities_costed and int_customer_profits_aggregated recompute only the
customers that loads newer than their watermark (loaded_through) touched, as listed once per
run by int_customers_touched_by_loads. One load brings every kind of change that must reach
them: a new and a late-arriving order, an order re-issued under another customer (its old
version becomes a quarantined duplicate), a new version of a product (its cost changes the
COGS of every line already loaded), a late-arriving ticket, and a new version of a customer
with an account manager that breaks a rule (its orders drop out, leaving it no rows, and the
manager's cost is shared among fewer customers). A build for another review date changes
every customer's cost to serve and profits; a review date a few days later (a daily refresh,
here into a new fiscal year) recomputes only the customers with a fact in the days that moved.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
from conftest import _copy_warehouse, _query

from segmentation.config import Settings
from segmentation.dbt_runner import run_dbt
from segmentation.ingest.load import load_landing

if TYPE_CHECKING:
    import pytest
    from conftest import BuiltWarehouse

AGGREGATES = (
    "int_customer_category_days_aggregated",
    "int_customer_order_days_aggregated",
    "int_cost_to_serve_activities_costed",
    "int_customer_profits_aggregated",
)
DOWNSTREAM = (
    "int_customer_profits_aggregated",
    "int_customer_rfm_summarized",
    "int_segment_customer_categories_aggregated",
)
SELECTION = ["--select", *(f"+{model}" for model in DOWNSTREAM)]


def _state(settings: Settings) -> dict[str, list[tuple]]:
    """Every row of the aggregates (without the watermark, which differs by design) and of their readers."""
    state = {}
    for model in dict.fromkeys((*AGGREGATES, *DOWNSTREAM)):
        columns = [
            row[0]
            for row in _query(
                settings,
                "select column_name from information_schema.columns"
                " where table_schema = 'intermediate' and table_name = ? and column_name <> 'loaded_through'"
                " order by ordinal_position",
                [model],
            )
        ]
        listed = ", ".join(columns)
        state[model] = _query(settings, f"select {listed} from intermediate.{model} order by all")
    return state


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(["" if value is None else value for value in row] for row in rows)


def _delta(settings: Settings, landing: Path) -> dict[str, str]:
    """Landing files of one new load; returns the ids it touches."""
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        latest = con.execute(
            "select max(ordered_date) from intermediate.int_orders_validated where not is_quarantined"
        ).fetchone()[0]
        # Two customers with completed orders, a third (with an account manager) to break, one
        # of the first's orders to re-issue, a fourth with a late ticket.
        buyers = [
            row[0]
            for row in con.execute(
                "select customer_id from intermediate.int_customer_order_days_aggregated"
                " where completed_order_lines > 0 group by customer_id having count(*) >= 3"
                " order by customer_id limit 2"
            ).fetchall()
        ]
        buyers += [
            row[0]
            for row in con.execute(
                "select customer_id from intermediate.int_customer_order_days_aggregated"
                " where customer_id not in (?, ?) and customer_id in ("
                "   select customer_id from intermediate.int_customers_validated"
                "   where not is_quarantined and account_manager_id is not null)"
                " group by customer_id having count(*) >= 3 order by customer_id limit 1",
                buyers,
            ).fetchall()
        ]
        ticket = con.execute(
            # the columns the delta file writes, by name (the contract has optional columns too)
            "select ticket_id, customer_id, opened_at, closed_at, channel, category, priority, handle_minutes,"
            " is_escalated, csat_score from raw.support_tickets"
            " where customer_id not in (?, ?, ?) and handle_minutes > 0 and closed_at is not null"
            " order by ticket_id limit 1",
            buyers,
        ).fetchone()
        reissued = con.execute(
            "select order_id, ordered_at, status, sales_channel, is_expedited, currency"
            " from raw.orders where customer_id = ? and lower(status) = 'completed' order by order_id limit 1",
            [buyers[0]],
        ).fetchone()
        product = con.execute(
            "select product_id, product_name, category, list_price, unit_cost from raw.products"
            " where product_id in (select product_id from intermediate.int_order_lines_validated)"
            " order by product_id limit 1"
        ).fetchone()
        broken = con.execute(
            "select customer_id, customer_name, email, signup_date, industry, company_size_band, country,"
            " region, acquisition_channel, service_plan, account_manager_id, acquisition_cost"
            " from raw.customers where customer_id = ?",
            [buyers[2]],
        ).fetchone()
    finally:
        con.close()
    late = f"{latest - dt.timedelta(days=10)} 09:00:00"
    new = f"{latest} 12:00:00"
    reissued_flag = "true" if reissued[4] else "false"
    _write_csv(
        landing / "orders" / "orders_delta.csv",
        ["order_id", "customer_id", "ordered_at", "status", "sales_channel", "is_expedited", "currency"],
        [
            ["OD-LATE", buyers[1], late, "completed", "web", "false", "USD"],
            ["OD-NEW", buyers[0], new, "completed", "web", "true", "USD"],
            [reissued[0], buyers[1], reissued[1], reissued[2], reissued[3], reissued_flag, reissued[5]],
        ],
    )
    _write_csv(
        landing / "order_lines" / "order_lines_delta.csv",
        ["order_line_id", "order_id", "product_id", "quantity", "unit_price", "discount_amount"],
        [
            ["LD-1", "OD-LATE", product[0], 2, "100.00", "5.00"],
            ["LD-2", "OD-NEW", product[0], 1, "80.00", None],
        ],
    )
    _write_csv(
        landing / "products" / "products_delta.csv",
        ["product_id", "product_name", "category", "list_price", "unit_cost"],
        [[product[0], product[1], product[2], product[3], f"{float(product[4]) + 1.25:.2f}"]],
    )
    _write_csv(
        landing / "customers" / "customers_delta.csv",
        [
            "customer_id", "customer_name", "email", "signup_date", "industry", "company_size_band", "country",
            "region", "acquisition_channel", "service_plan", "account_manager_id", "acquisition_cost",
        ],
        [[*broken[:7], "nowhere", *broken[8:]]],
    )
    opened = dt.datetime.combine(latest - dt.timedelta(days=20), dt.time(9))
    _write_csv(
        landing / "support_tickets" / "support_tickets_delta.csv",
        [
            "ticket_id", "customer_id", "opened_at", "closed_at", "channel", "category", "priority",
            "handle_minutes", "is_escalated", "csat_score",
        ],
        [[
            "TD-LATE", ticket[1], opened, opened + dt.timedelta(hours=2), *ticket[4:8],
            "true" if ticket[8] else "false", ticket[9],
        ]],
    )
    return {
        "late_buyer": buyers[1],
        "reissued_from": buyers[0],
        "broken": buyers[2],
        "product": product[0],
        "ticket_customer": ticket[1],
    }


def test_incremental_customer_aggregates_after_new_late_and_changed_rows_equal_a_full_refresh(
    built_warehouse: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = _copy_warehouse(built_warehouse.path, tmp_path_factory.mktemp("customer_aggregates"))
    before = _state(settings)
    touched = _delta(settings, settings.data_dir / "delta_landing")
    load_landing(settings.data_dir / "delta_landing", settings.raw_dir)

    run_dbt(["run", *SELECTION], settings)
    incremental = _state(settings)
    run_dbt(["run", *SELECTION, "--full-refresh"], settings)
    full_refresh = _state(settings)

    for model in dict.fromkeys((*AGGREGATES, *DOWNSTREAM)):
        assert incremental[model] == full_refresh[model], model
    # The load changed what it should: the broken customer has no order days left, the
    # re-issued order moved, and the late order arrived.
    order_days = "int_customer_order_days_aggregated"
    customers_before = {row[0] for row in before[order_days]}
    customers_after = {row[0] for row in incremental[order_days]}
    assert touched["broken"] in customers_before
    assert touched["broken"] not in customers_after
    changed = set(before[order_days]) ^ set(incremental[order_days])
    assert {row[0] for row in changed} >= {touched["late_buyer"], touched["reissued_from"]}
    # The product's new cost reaches customers the load did not otherwise touch.
    categories = "int_customer_category_days_aggregated"
    changed_categories = set(before[categories]) ^ set(incremental[categories])
    assert {row[0] for row in changed_categories} - {touched["late_buyer"], touched["reissued_from"], touched["broken"]}
    # The late ticket costs its customer support minutes; the broken customer's account
    # manager now shares its monthly cost among fewer customers, the load touched none of them.
    activities = "int_cost_to_serve_activities_costed"
    changed_activities = set(before[activities]) ^ set(incremental[activities])
    assert touched["ticket_customer"] in {row[0] for row in changed_activities}
    loaded = {touched["late_buyer"], touched["reissued_from"], touched["broken"], touched["ticket_customer"]}
    assert {row[0] for row in changed_activities if row[2] == "account_management"} - loaded


def test_incremental_finance_models_for_another_review_date_equal_a_full_refresh(
    built_warehouse: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = _copy_warehouse(built_warehouse.path, tmp_path_factory.mktemp("customer_aggregates_review"))
    before = _state(settings)
    other_review = ["--vars", "{review_months_before_latest: 12}"]
    run_dbt(["run", *SELECTION, *other_review], settings)
    incremental = _state(settings)
    run_dbt(["run", *SELECTION, *other_review, "--full-refresh"], settings)
    full_refresh = _state(settings)

    for model in dict.fromkeys((*AGGREGATES, *DOWNSTREAM)):
        assert incremental[model] == full_refresh[model], model
    assert incremental["int_customer_profits_aggregated"] != before["int_customer_profits_aggregated"]
    assert incremental["int_cost_to_serve_activities_costed"] != before["int_cost_to_serve_activities_costed"]


def test_incremental_finance_models_after_the_review_date_moved_a_few_days_recompute_few_customers(
    built_warehouse: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A daily refresh: orders dated after the latest one move the default review date (and the
    rolling window's start) three days forward. Only the customers with a fact in the days that
    entered or left a period are recomputed; every other row only takes the new dates."""
    settings = _copy_warehouse(built_warehouse.path, tmp_path_factory.mktemp("customer_aggregates_moved"))
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        latest = con.execute(
            "select max(ordered_date) from intermediate.int_orders_validated where not is_quarantined"
        ).fetchone()[0]
        buyer = con.execute(
            "select customer_id from intermediate.int_customer_order_days_aggregated"
            " where completed_order_lines > 0 order by customer_id limit 1"
        ).fetchone()[0]
        product = con.execute(
            "select product_id from intermediate.int_products_validated where not is_quarantined"
            " order by product_id limit 1"
        ).fetchone()[0]
    finally:
        con.close()
    moved_to = latest + dt.timedelta(days=3)
    landing = settings.data_dir / "delta_landing"
    _write_csv(
        landing / "orders" / "orders_moved.csv",
        ["order_id", "customer_id", "ordered_at", "status", "sales_channel", "is_expedited", "currency"],
        [
            ["OD-MOVED", buyer, f"{moved_to} 10:00:00", "completed", "web", "true", "USD"],
            ["OD-MOVED-LATE", buyer, f"{latest - dt.timedelta(days=40)} 10:00:00", "completed", "web", "false", "USD"],
        ],
    )
    _write_csv(
        landing / "order_lines" / "order_lines_moved.csv",
        ["order_line_id", "order_id", "product_id", "quantity", "unit_price", "discount_amount"],
        [
            ["LD-MOVED", "OD-MOVED", product, 1, "50.00", None],
            ["LD-MOVED-LATE", "OD-MOVED-LATE", product, 3, "20.00", None],
        ],
    )
    load_landing(landing, settings.raw_dir)

    run_dbt(["run", *SELECTION], settings)
    incremental = _state(settings)
    recomputed = {
        model: _query(
            settings,
            f"select count(distinct customer_id) filter (where loaded_through = (select max(loaded_through)"
            f" from intermediate.{model})), count(distinct customer_id) from intermediate.{model}",
        )[0]
        for model in ("int_cost_to_serve_activities_costed", "int_customer_profits_aggregated")
    }
    review_dates = _query(settings, "select distinct review_date from intermediate.int_customer_profits_aggregated")
    run_dbt(["run", *SELECTION, "--full-refresh"], settings)
    full_refresh = _state(settings)

    assert review_dates == [(moved_to,)]
    for model in dict.fromkeys((*AGGREGATES, *DOWNSTREAM)):
        assert incremental[model] == full_refresh[model], model
    # Few customers have a fact in the six moved days (three at the window's start, three at
    # its end): most rows were kept, not recomputed.
    for model, (recomputed_customers, customers) in recomputed.items():
        assert 0 < recomputed_customers < customers / 2, (model, recomputed_customers, customers)
