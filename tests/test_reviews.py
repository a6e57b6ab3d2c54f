"""Segment reviews: review-keyed history, re-runs, migrations and point-in-time builds.

Each test module works on copies of the session warehouse (named warehouse.duckdb:
dbt-duckdb views name the catalog after the file) and runs dbt on the copy with the
review vars, building only what the reviews need.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pytest
from conftest import (
    FISCAL_YEAR_ENDS,
    AnnualReviews,
    _build_annual_review,
    _copy_warehouse,
    _history_rows,
    _query,
)

from segmentation.config import Settings
from segmentation.dbt_runner import run_dbt
from segmentation.ingest import raw_zone

if TYPE_CHECKING:
    from conftest import BuiltWarehouse

pytestmark = pytest.mark.slow
PROJECT_DIR = Path(__file__).resolve().parent.parent



def _assert_same_rows(actual: list[tuple], expected: list[tuple]) -> None:
    """Row for row equality; doubles (predicted CLV from the CLV step) to 1e-9 relative."""
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        for got_value, want_value in zip(got, want, strict=True):
            if isinstance(want_value, float) and isinstance(got_value, float):
                assert math.isclose(got_value, want_value, rel_tol=1e-9, abs_tol=1e-6), (got, want)
            else:
                assert got_value == want_value, (got, want)


def test_each_annual_review_is_kept_in_the_history(annual_reviews: AnnualReviews) -> None:
    reviews = _query(
        annual_reviews.settings,
        "select review_id, cast(review_date as varchar), count(*) from marts.segment_review_history"
        " where review_type = 'annual' group by review_id, review_date order by review_id",
    )
    assert [(review_id, review_date) for review_id, review_date, _ in reviews] == list(FISCAL_YEAR_ENDS.items())
    assert all(customers > 0 for _, _, customers in reviews)
    duplicates = _query(
        annual_reviews.settings,
        "select review_id, customer_id from marts.segment_review_history"
        " group by review_id, customer_id having count(*) > 1",
    )
    assert duplicates == []


def test_reviews_are_chained_by_type(annual_reviews: AnnualReviews) -> None:
    chain = _query(
        annual_reviews.settings,
        "select review_id, previous_review_id from marts.segment_reviews"
        " where review_type = 'annual' order by review_date",
    )
    assert chain == [
        ("annual-FY2023", None),
        ("annual-FY2024", "annual-FY2023"),
        ("annual-FY2025", "annual-FY2024"),
    ]


def test_migration_matrix_sums_to_the_customers_in_both_reviews(annual_reviews: AnnualReviews) -> None:
    settings = annual_reviews.settings
    in_both, only_later, only_earlier = _query(
        settings,
        """
        with earlier as (
            select customer_id from marts.segment_review_history where review_id = 'annual-FY2024'
        ), later as (
            select customer_id from marts.segment_review_history where review_id = 'annual-FY2025'
        )
        select
            (select count(*) from earlier inner join later using (customer_id)),
            (select count(*) from later where customer_id not in (select customer_id from earlier)),
            (select count(*) from earlier where customer_id not in (select customer_id from later))
        """,
    )[0]
    matrix = dict(
        _query(
            settings,
            "select presence, sum(customers) from marts.segment_migrations"
            " where from_review_id = 'annual-FY2024' and to_review_id = 'annual-FY2025' group by presence",
        )
    )
    assert in_both > 0
    assert matrix["both"] == in_both
    assert matrix.get("new", 0) == only_later
    assert matrix.get("gone", 0) == only_earlier
    movers = _query(
        settings,
        "select direction, count(*) from marts.segment_movers where to_review_id = 'annual-FY2025' group by direction",
    )
    assert sum(count for _, count in movers) == in_both
    assert {direction for direction, _ in movers} <= {"up", "down", "same"}


def test_movers_explain_the_move_with_the_numbers(annual_reviews: AnnualReviews) -> None:
    rows = _query(
        annual_reviews.settings,
        "select from_tier, to_tier, direction, from_tier_rank, to_tier_rank, reason from marts.segment_movers"
        " where to_review_id = 'annual-FY2025' and direction <> 'same' limit 50",
    )
    assert rows
    for from_tier, to_tier, direction, from_rank, to_rank, reason in rows:
        assert direction == ("up" if to_rank < from_rank else "down")
        assert reason.startswith(f"{from_tier} -> {to_tier}; rolling net profit ")
        assert "predicted CLV" in reason


def test_rerunning_a_past_review_reproduces_it_and_keeps_the_others(annual_reviews: AnnualReviews) -> None:
    settings = annual_reviews.settings
    _assert_same_rows(_history_rows(settings, "annual-FY2024"), annual_reviews.fy2024_first_build)
    counts_after = dict(
        _query(settings, "select review_id, count(*) from marts.segment_review_history group by review_id")
    )
    assert counts_after == annual_reviews.counts_before_rerun


def _delete_raw(con: duckdb.DuckDBPyConnection, settings: Settings, entity: str, where: str) -> None:
    """Delete the raw rows of `entity` matching `where` (SQL over the raw zone's views raw.*),
    by rewriting each of its Parquet files in the copied raw zone."""
    for path in sorted((settings.raw_dir / entity).glob("*.parquet")):
        temp = path.with_name(f".{path.name}.tmp")
        con.execute(
            f"copy (select * from read_parquet('{path}') where not coalesce(({where}), false))"
            f" to '{temp}' (format parquet)"
        )
        temp.replace(path)


def _truncate_raw_to(settings: Settings, cutoff: str) -> None:
    """Delete every raw fact dated after the cutoff: the warehouse as it was at the cutoff."""
    after = f"date '{cutoff}' + interval 1 day"
    with raw_zone.connect(settings.raw_dir) as con:
        late_orders = f"select order_id from raw.orders where ordered_at >= {after}"
        _delete_raw(con, settings, "order_lines", f"order_id in ({late_orders})")
        _delete_raw(con, settings, "orders", f"ordered_at >= {after}")
        _delete_raw(con, settings, "support_tickets", f"opened_at >= {after}")
        _delete_raw(con, settings, "service_contracts", f"start_date > date '{cutoff}'")
        _delete_raw(con, settings, "acquisition_spend", f"spend_month > date '{cutoff}'")
        _delete_raw(con, settings, "cost_rates", f"valid_from > date '{cutoff}'")
        _delete_raw(con, settings, "customers", f"signup_date > date '{cutoff}'")
        remaining = con.execute(f"select count(*) from raw.orders where ordered_at >= {after}").fetchone()[0]
        assert remaining == 0


INCREMENTAL_BY_KEY = ["path:models/intermediate/quality", "fct_order_lines", "fct_support_tickets"]


def test_an_annual_review_built_today_equals_the_one_built_at_the_review_date(
    annual_reviews: AnnualReviews, built_warehouse: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Building the FY2024 review today gives the same result as building it at the end of
    FY2024 from the same data (later orders, tickets, contracts and customers removed)."""
    settings = _copy_warehouse(built_warehouse.path, tmp_path_factory.mktemp("fy2024_at_year_end"))
    _truncate_raw_to(settings, "2024-12-31")
    # Rows removed from the raw zone by hand: the incremental models need a full refresh.
    run_dbt(["run", "--select", *INCREMENTAL_BY_KEY, "--full-refresh"], settings)
    _build_annual_review(settings, "2024-12-31")
    at_year_end = _history_rows(settings, "annual-FY2024")
    assert at_year_end
    _assert_same_rows(_history_rows(annual_reviews.settings, "annual-FY2024"), at_year_end)


SNAPSHOT_STATE = (
    "select customer_id, cast(dbt_valid_from as date), cast(dbt_valid_to as date), value_tier,"
    " effective_service_level, routing_queue from snapshots.customer_segment_snapshot"
    " order by customer_id, dbt_valid_from"
)


def _build_rolling_snapshot(settings: Settings, review_date: str) -> None:
    from segmentation.pipeline import dbt_build_with_clv

    # With the CLV step between dbt's two parts: CLV scored as of this review date.
    review_vars = json.dumps({"review_type": "rolling", "review_date": review_date})
    dbt_build_with_clv(settings, ["--vars", review_vars], select=["+customer_segment_snapshot"])


def test_the_snapshot_keeps_one_version_per_change_dated_by_review(
    built_warehouse: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = _copy_warehouse(built_warehouse.path, tmp_path_factory.mktemp("snapshot"))
    con = duckdb.connect(str(settings.warehouse_path))
    con.execute("drop table if exists snapshots.customer_segment_snapshot")
    con.close()
    _build_rolling_snapshot(settings, "2024-12-31")
    _build_rolling_snapshot(settings, "2025-12-31")
    after_2025 = _query(settings, SNAPSHOT_STATE)
    current = {row[0]: row[3:] for row in after_2025 if row[2] is None}
    assignment = {
        row[0]: row[1:]
        for row in _query(
            settings,
            "select customer_id, value_tier, effective_service_level, routing_queue"
            " from marts.customer_service_assignment",
        )
    }
    assert current == assignment
    assert {str(row[1]) for row in after_2025} == {"2024-12-31", "2025-12-31"}
    assert {str(row[2]) for row in after_2025 if row[2] is not None} == {"2025-12-31"}
    closed = [row for row in after_2025 if row[2] is not None]
    assert closed, "some customers changed tier or service between the two reviews"
    # re-running an older review does not rewrite the history
    _build_rolling_snapshot(settings, "2024-12-31")
    assert _query(settings, SNAPSHOT_STATE) == after_2025
