"""A real Dagster run of the whole asset graph on a tiny generated data set.

1. The refresh job loads, builds (dbt up to the RFM summary, the CLV step, the other dbt
   models; dbt tests as checks), validates (GX suites as blocking checks) and publishes; then
   the annual review of FY2024 materializes as a partition.
2. A new landing file brings a customer who signed up in 1985: dbt accepts it (no rule
   says otherwise), the GX suite on clean customers fails critically, and the blocking
   check stops the publish step: the published file stays byte-identical.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from segmentation.config import Settings

pytestmark = pytest.mark.slow

CUSTOMERS = 400
OLD_CUSTOMER_CSV = (
    "customer_id,customer_name,email,signup_date,industry,company_size_band,country,region,acquisition_channel\n"
    "C-1985,Old Timer,old@example.com,1985-06-01,retail,1-10,US,north_america,referral\n"
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory, dbt_artifacts_dir: Path) -> Iterator[Settings]:
    from segmentation.sample.generate import GeneratorConfig, generate

    data_dir = tmp_path_factory.mktemp("dagster") / "data"
    generate(GeneratorConfig(customers=CUSTOMERS, seed=11, defect_rate=0.0), data_dir)
    with pytest.MonkeyPatch.context() as patch:
        for name in (
            "SEGMENTATION_LANDING_DIR", "SEGMENTATION_RAW_DIR", "SEGMENTATION_PUBLISHED_PATH",
            "SEGMENTATION_GROUND_TRUTH_DIR",
        ):
            patch.delenv(name, raising=False)
        patch.setenv("SEGMENTATION_DATA_DIR", str(data_dir))
        patch.setenv("SEGMENTATION_WAREHOUSE_PATH", str(data_dir / "warehouse.duckdb"))
        yield Settings.from_env()


def run_refresh(instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import defs

    job = defs.resolve_job_def("refresh_warehouse")
    return job.execute_in_process(instance=instance or dg.DagsterInstance.ephemeral(), raise_on_error=False)


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        event.asset_check_evaluation_data.check_name: event.asset_check_evaluation_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}


@pytest.fixture(scope="module")
def first_instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.ephemeral()


@pytest.fixture(scope="module")
def first_run(tiny_data: Settings, first_instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return run_refresh(first_instance)


def test_the_whole_graph_materializes_and_publishes(first_run: dg.ExecuteInProcessResult, tiny_data: Settings):
    assert first_run.success
    done = materialized(first_run)
    assert {"landing/customers", "marts/customer_clv", "published_warehouse"} <= done
    checks = check_results(first_run)
    gx = {name: c for name, c in checks.items() if name.startswith("gx_")}
    assert len(gx) > 20 and all(c.passed or c.severity == dg.AssetCheckSeverity.WARN for c in gx.values())
    assert tiny_data.published_path.is_file()


def test_dbt_runs_without_an_in_process_adapter_warning(
    first_run: dg.ExecuteInProcessResult, first_instance: dg.DagsterInstance
):
    """The dbt resource skips dagster-dbt's in-process adapter (orchestration/defs/dagster_dbt_light.py)."""
    logs = first_instance.all_logs(first_run.run_id)
    # Dagster runs the dbt op in steps around the CLV step (warehouse_dbt_assets, _2, ...).
    assert any((e.step_key or "").startswith("warehouse_dbt_assets") for e in logs), "dbt's logs should be here"
    assert not [e.user_message for e in logs if e.level >= logging.WARNING and "adapter" in e.user_message]


def test_an_annual_review_partition_materializes_with_its_checks(
    first_run: dg.ExecuteInProcessResult, tiny_data: Settings
):
    import duckdb

    from orchestration.definitions import defs

    assert first_run.success
    job = defs.resolve_job_def("annual_review")
    result = job.execute_in_process(partition_key="FY2024", instance=dg.DagsterInstance.ephemeral(),
                                    raise_on_error=False)

    assert result.success
    checks = check_results(result)
    assert checks["dbt_tests"].passed and checks["dbt_tests"].metadata["nodes"].value > 10
    assert checks["quality_gate"].passed
    (event,) = result.get_asset_materialization_events()
    assert event.asset_key == dg.AssetKey(["reviews", "annual_segment_review"])
    assert event.partition == "FY2024"
    con = duckdb.connect(str(tiny_data.published_path), read_only=True)
    try:
        reviews = {row[0] for row in con.execute("select review_id from marts.segment_reviews").fetchall()}
    finally:
        con.close()
    assert "annual-FY2024" in reviews


def test_a_failing_blocking_check_stops_the_publish(first_run: dg.ExecuteInProcessResult, tiny_data: Settings):
    assert first_run.success
    before = sha256(tiny_data.published_path)
    (tiny_data.landing_dir / "customers" / "late_arrivals.csv").write_text(OLD_CUSTOMER_CSV)

    second = run_refresh()

    checks = check_results(second)
    failed = checks["gx_staging_customers_rows"]
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR
    # The check links the operator to the suite's gate page, which shows the failure and the verdict.
    page = Path(failed.metadata["gate_page"].value)
    assert page.name == "staging_customers_rows.html"
    assert "BLOCKED" in Path(failed.metadata["gate_verdict"].value).read_text()
    assert "fail" in page.read_text()
    assert "marts/customer_lifetime_profitability" in materialized(second), "dbt itself accepted the data"
    # The check is on a model of dbt's first step: it blocks that model's downstream in the second.
    assert "marts/customer_clv" not in materialized(second), sorted(materialized(second))
    assert "published_warehouse" not in materialized(second)
    assert sha256(tiny_data.published_path) == before
