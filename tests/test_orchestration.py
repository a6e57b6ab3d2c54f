"""Dagster definitions: what they contain, what schedules and the sensor ask for, and a real run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest

from orchestration.definitions import defs
from orchestration.defs.resources import SegmentationResource
from orchestration.defs.reviews import completed_fiscal_years, fiscal_year_end, fiscal_year_label
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


def test_annual_review_partitions_are_the_fiscal_years_that_ended() -> None:
    job = defs.resolve_job_def("annual_review")
    keys = job.partitions_def.get_partition_keys()

    assert keys[0] == "FY2023"
    assert all(fiscal_year_end(key) < dt.date.today() for key in keys), "a fiscal year still running"
    assert fiscal_year_end(f"FY{int(keys[-1][2:]) + 1}") >= dt.date.today(), "an ended fiscal year is missing"


@pytest.mark.parametrize(
    ("now", "start_month", "expected"),
    [
        (dt.datetime(2026, 11, 22, tzinfo=dt.UTC), 1, ["FY2023", "FY2024", "FY2025"]),
        (dt.datetime(2027, 1, 1, tzinfo=dt.UTC), 1, ["FY2023", "FY2024", "FY2025", "FY2026"]),
        # April fiscal years: FY2026 ran from April 2025 to March 2026.
        (dt.datetime(2026, 11, 22, tzinfo=dt.UTC), 4, ["FY2023", "FY2024", "FY2025", "FY2026"]),
        (dt.datetime(2026, 3, 31, tzinfo=dt.UTC), 4, ["FY2023", "FY2024", "FY2025"]),
    ],
)
def test_fiscal_year_partitions_are_labelled_by_the_year_they_end_in(now, start_month, expected) -> None:
    assert completed_fiscal_years(now, start_month) == expected


def test_yearly_schedule_reviews_the_fiscal_year_that_just_ended() -> None:
    schedule = defs.resolve_schedule_def("annual_review_schedule")
    last_ended = defs.resolve_job_def("annual_review").partitions_def.get_partition_keys()[-1]
    first_day_after = fiscal_year_end(last_ended) + dt.timedelta(days=1)
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime.combine(first_day_after, dt.time(0, 5), tzinfo=dt.UTC),
        repository_def=defs.get_repository_def(),
    )

    (request,) = schedule.evaluate_tick(context).run_requests

    assert request.partition_key == last_ended


def test_yearly_schedule_says_to_reload_when_the_year_is_not_a_partition_yet() -> None:
    schedule = defs.resolve_schedule_def("annual_review_schedule")
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2099, 1, 1, 0, 5, tzinfo=dt.UTC))

    result = schedule.evaluate_tick(context)

    assert not result.run_requests
    assert "FY2098" in result.skip_message and "Reload" in result.skip_message


@pytest.mark.parametrize(
    ("label", "start_month", "review_date"),
    [
        ("FY2024", 1, dt.date(2024, 12, 31)),
        ("FY2025", 7, dt.date(2025, 6, 30)),  # July fiscal years
        ("FY2025", 4, dt.date(2025, 3, 31)),  # April fiscal years: FY2025 is April 2024 to March 2025
    ],
)
def test_a_fiscal_year_partition_reviews_its_last_day(label, start_month, review_date) -> None:
    assert fiscal_year_end(label, start_month) == review_date
    assert fiscal_year_label(review_date, start_month) == label
    assert fiscal_year_label(review_date + dt.timedelta(days=1), start_month) != label


def test_a_malformed_fiscal_year_is_refused() -> None:
    with pytest.raises(ValueError, match="FY<yyyy>"):
        fiscal_year_end("2024-01-01")
