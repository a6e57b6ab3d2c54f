"""Dagster definitions: what they contain, what schedules and the sensor ask for, and a real run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import defs
from orchestration.defs.resources import SegmentationResource
from orchestration.defs.schedules import daily_refresh, landing_file_sensor, monthly_rolling_review

PRODUCTS_CSV = "product_id,category,list_price,unit_cost\nP1,hardware,1,1\n"


def asset_keys() -> set[str]:
    return {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}


def test_definitions_hold_raw_dbt_assets_and_their_checks() -> None:
    keys = asset_keys()
    assert {"landing/customers", "landing/order_lines", "loader/_load_manifest"} <= keys
    assert any(key.endswith("stg_landing__orders") for key in keys)
    assert any(key.endswith("audit_row_reconciliation") for key in keys)
    checks = {key.name for key in defs.resolve_asset_graph().asset_check_keys}
    assert any("unique" in name for name in checks), "dbt tests should appear as asset checks"


def test_dbt_staging_models_depend_on_the_loader_assets() -> None:
    graph = defs.resolve_asset_graph()
    (orders_key,) = [k for k in graph.get_all_asset_keys() if k.to_user_string().endswith("stg_landing__orders")]
    assert dg.AssetKey(["landing", "orders"]) in graph.get(orders_key).parent_keys


def test_schedules_and_sensor_are_registered_with_the_writer_tag() -> None:
    assert {s.name for s in defs.schedules} >= {"daily_refresh", "monthly_rolling_review", "annual_review_schedule"}
    assert {s.name for s in defs.sensors} >= {"landing_file_sensor"}
    job = defs.resolve_job_def("refresh_warehouse")
    assert job.tags.get("segmentation/warehouse") == "writer"


def test_monthly_schedule_reviews_the_last_day_of_the_previous_month() -> None:
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 3, 1, 6, tzinfo=dt.UTC))

    request = monthly_rolling_review(context)

    assert request.run_config["ops"]["warehouse_dbt_assets"]["config"] == {"review_date": "2026-02-28"}
    assert request.tags["segmentation/review"] == "rolling"
    assert request.run_key == "rolling-2026-02-28"


def test_daily_schedule_leaves_the_review_date_to_the_data() -> None:
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 3, 5, 5, tzinfo=dt.UTC))

    request = daily_refresh(context)

    assert request.run_config["ops"]["warehouse_dbt_assets"]["config"] == {}


def test_sensor_fires_on_a_new_file_and_not_on_one_already_seen(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "products").mkdir(parents=True)
    resources = {"segmentation": SegmentationResource(landing_dir=str(landing))}

    empty = landing_file_sensor(dg.build_sensor_context(resources=resources))
    assert isinstance(empty, dg.SkipReason)

    (landing / "products" / "p1.csv").write_text(PRODUCTS_CSV)
    first_context = dg.build_sensor_context(resources=resources)
    first = landing_file_sensor(first_context)
    assert isinstance(first, dg.RunRequest)

    again = landing_file_sensor(dg.build_sensor_context(cursor=first_context.cursor, resources=resources))
    assert isinstance(again, dg.SkipReason)

    (landing / "products" / "p2.csv").write_text(PRODUCTS_CSV.replace("P1", "P2"))
    second = landing_file_sensor(dg.build_sensor_context(cursor=first_context.cursor, resources=resources))
    assert isinstance(second, dg.RunRequest)
    assert second.run_key != first.run_key


@pytest.mark.parametrize("ignored", ["notes.txt", ".hidden.csv"])
def test_sensor_ignores_files_the_loader_would_ignore(tmp_path: Path, ignored: str) -> None:
    landing = tmp_path / "landing"
    (landing / "products").mkdir(parents=True)
    (landing / "products" / ignored).write_text("x")
    resources = {"segmentation": SegmentationResource(landing_dir=str(landing))}

    assert isinstance(landing_file_sensor(dg.build_sensor_context(resources=resources)), dg.SkipReason)


def test_annual_review_partitions_are_complete_fiscal_years() -> None:
    job = defs.resolve_job_def("annual_review")
    keys = job.partitions_def.get_partition_keys(current_time=dt.datetime(2026, 11, 22, tzinfo=dt.UTC))

    assert keys == ["2023-01-01", "2024-01-01", "2025-01-01"], "FY2026 is not over yet"


def test_yearly_schedule_reviews_the_fiscal_year_that_just_ended() -> None:
    schedule = defs.resolve_schedule_def("annual_review_schedule")
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 1, 1, 0, 5, tzinfo=dt.UTC))

    (request,) = schedule.evaluate_tick(context).run_requests

    assert request.partition_key == "2025-01-01"


@pytest.mark.parametrize(
    ("window_end", "review_date", "label"),
    [
        (dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.date(2024, 12, 31), "FY2024"),
        (dt.datetime(2025, 7, 1, tzinfo=dt.UTC), dt.date(2025, 6, 30), "FY2025"),  # July fiscal years
    ],
)
def test_a_fiscal_year_partition_reviews_its_last_day(window_end, review_date, label) -> None:
    from orchestration.defs.reviews import fiscal_year_label, review_date_for

    assert review_date_for(window_end) == review_date
    assert fiscal_year_label(review_date) == label
