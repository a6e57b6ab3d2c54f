"""Shared fixtures. The sample warehouse is generated, loaded and built once per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from segmentation.config import Settings

PROJECT_DIR = Path(__file__).resolve().parent.parent
SAMPLE_CUSTOMERS = 3_000
SAMPLE_SEED = 20_251_231


@dataclass(frozen=True)
class BuiltWarehouse:
    """A real DuckDB warehouse built by the real loader and `dbt build` from generated data."""

    settings: Settings

    @property
    def path(self) -> Path:
        return self.settings.warehouse_path

    @property
    def landing_dir(self) -> Path:
        return self.settings.landing_dir

    @property
    def ground_truth_dir(self) -> Path:
        return self.settings.ground_truth_dir

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def scalar(self, sql: str, params: list | None = None):
        return self.query(sql, params)[0][0]


def settings_for(data_dir: Path) -> Settings:
    return Settings.from_env(
        {
            "SEGMENTATION_PROJECT_DIR": str(PROJECT_DIR),
            "SEGMENTATION_DATA_DIR": str(data_dir),
        }
    )


@pytest.fixture(scope="session")
def dbt_artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep dbt's target/ and logs/ out of the working tree while tests run."""
    path = tmp_path_factory.mktemp("dbt")
    saved = {k: os.environ.get(k) for k in ("DBT_TARGET_PATH", "DBT_LOG_PATH", "DBT_SEND_ANONYMOUS_USAGE_STATS")}
    os.environ["DBT_TARGET_PATH"] = str(path / "target")
    os.environ["DBT_LOG_PATH"] = str(path / "logs")
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    yield path
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory, dbt_artifacts_dir: Path) -> BuiltWarehouse:
    """Generate the sample, load it and build it as `segmentation build` does: dbt up to the
    RFM summary, the CLV step, dbt for the rest (models, seeds, all dbt tests)."""
    from segmentation.ingest.load import load_landing
    from segmentation.pipeline import dbt_build_with_clv
    from segmentation.sample.generate import GeneratorConfig, generate

    settings = settings_for(tmp_path_factory.mktemp("sample"))
    generate(GeneratorConfig(customers=SAMPLE_CUSTOMERS, seed=SAMPLE_SEED), settings.data_dir)
    load_landing(settings.landing_dir, settings.raw_dir)
    dbt_build_with_clv(settings)
    return BuiltWarehouse(settings)


@pytest.fixture(scope="session")
def simulated_rfm_summary() -> pd.DataFrame:
    """int_customer_rfm_summarized's shape, simulated from BG/NBD (no dbt): 4,000 customers,
    review rows and calibration rows (26-week holdout), 25 repeat customers losing money."""
    import numpy as np

    from segmentation.clv.estimation import simulate_bgnbd

    rng = np.random.default_rng(3)
    n, holdout_weeks = 4_000, 26.0
    age = rng.uniform(20 + holdout_weeks, 150, n)
    review_x, review_tx, _ = simulate_bgnbd(0.8, 10.0, 0.5, 3.0, age, rng=rng)
    calibration_x, calibration_tx, holdout = simulate_bgnbd(
        0.8, 10.0, 0.5, 3.0, age - holdout_weeks, rng=rng, holdout_length=holdout_weeks
    )
    margin = np.where(review_x > 0, rng.gamma(5.0, 40.0, n), np.nan)
    margin[:25] = np.where(review_x[:25] > 0, -5.0, margin[:25])
    ids = [f"C{i:05d}" for i in range(n)]
    review = pd.DataFrame({
        "summary_type": "review", "customer_id": ids, "as_of_date": pd.Timestamp(SIMULATED_REVIEW_DATE),
        "holdout_end_date": pd.NaT, "frequency": review_x.astype("int64"), "recency_weeks": review_tx,
        "age_weeks": age, "mean_repeat_margin": margin, "holdout_purchases": np.nan, "holdout_weeks": np.nan,
    })
    calibration = pd.DataFrame({
        "summary_type": "calibration", "customer_id": ids,
        "as_of_date": pd.Timestamp(SIMULATED_REVIEW_DATE) - pd.Timedelta(weeks=holdout_weeks),
        "holdout_end_date": pd.Timestamp(SIMULATED_REVIEW_DATE), "frequency": calibration_x.astype("int64"),
        "recency_weeks": calibration_tx, "age_weeks": age - holdout_weeks,
        "mean_repeat_margin": np.where(calibration_x > 0, rng.gamma(5.0, 40.0, n), np.nan),
        "holdout_purchases": holdout, "holdout_weeks": holdout_weeks,
    })
    return pd.concat([review, calibration], ignore_index=True)


SIMULATED_REVIEW_DATE = "2025-12-31"


# Segment reviews built into a copy of the session warehouse (tests/test_reviews.py, tests/test_bi.py).
FISCAL_YEAR_ENDS = {"annual-FY2023": "2023-12-31", "annual-FY2024": "2024-12-31", "annual-FY2025": "2025-12-31"}


HISTORY_COLUMNS = (
    "review_id, review_type, review_date, fiscal_year_label, customer_id, tenure_band, value_tier,"
    " value_tier_rank, value_score, lifecycle_stage, churn_risk, effective_service_level,"
    " routing_queue, rolling_net_revenue, rolling_net_profit, historical_clv, predicted_clv"
)


def _copy_warehouse(source: Path, data_dir: Path) -> Settings:
    """A copy of the warehouse and of the raw zone next to it (tests may rewrite raw rows)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    warehouse = data_dir / "warehouse.duckdb"
    shutil.copyfile(source, warehouse)
    shutil.copytree(source.parent / "raw", data_dir / "raw", ignore=shutil.ignore_patterns("_staging", ".lock"))
    return Settings.from_env(
        {
            "SEGMENTATION_PROJECT_DIR": str(PROJECT_DIR),
            "SEGMENTATION_DATA_DIR": str(data_dir),
            "SEGMENTATION_WAREHOUSE_PATH": str(warehouse),
        }
    )


def _build_annual_review(settings: Settings, review_date: str) -> None:
    from segmentation.pipeline import build_review  # imports the quality gate (GX): only when needed

    build_review(settings, {"review_type": "annual", "review_date": review_date})


def _query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _history_rows(settings: Settings, review_id: str) -> list[tuple]:
    return _query(
        settings,
        f"select {HISTORY_COLUMNS} from marts.segment_review_history where review_id = ? order by customer_id",
        [review_id],
    )


@dataclass(frozen=True)
class AnnualReviews:
    settings: Settings
    fy2024_first_build: list[tuple]
    counts_before_rerun: dict[str, int]


@pytest.fixture(scope="session")
def annual_reviews(built_warehouse: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory) -> AnnualReviews:
    """FY2023, FY2024 and FY2025 built into one copy, then FY2024 built again.

    Shared by the review tests and the BI tests (publish, Parquet export, report, metrics):
    the copy holds four reviews (the session build's rolling one and three annual ones),
    and its marts are those of the last build, annual-FY2024.
    """
    settings = _copy_warehouse(built_warehouse.path, tmp_path_factory.mktemp("annual_reviews"))
    for review_date in FISCAL_YEAR_ENDS.values():
        _build_annual_review(settings, review_date)
    fy2024_first_build = _history_rows(settings, "annual-FY2024")
    counts = dict(_query(settings, "select review_id, count(*) from marts.segment_review_history group by review_id"))
    _build_annual_review(settings, FISCAL_YEAR_ENDS["annual-FY2024"])
    return AnnualReviews(settings, fy2024_first_build, counts)


# A `segmentation run` through the CLI on a small sample (tests/test_run_state.py,
# tests/test_dagster_ui.py): its data folder, with the Dagster instance it recorded in.
CLI_RUN_ARGS = ["run", "--customers", "1500", "--previous-review-months", "0"]


@dataclass(frozen=True)
class CliRun:
    data_dir: Path
    output: str

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster_home"


@pytest.fixture(scope="session")
def cli_run(tmp_path_factory: pytest.TempPathFactory, dbt_artifacts_dir: Path) -> Iterator[CliRun]:
    import contextlib
    import io

    from segmentation import cli

    data_dir = tmp_path_factory.mktemp("cli_run") / "data"
    with pytest.MonkeyPatch.context() as patch:
        # Dagster's in-process runs (tests/test_dagster_run.py) leave the dbt paths of their
        # own warehouse in os.environ; every path must follow the data folder here.
        for name in ("SEGMENTATION_LANDING_DIR", "SEGMENTATION_RAW_DIR", "SEGMENTATION_WAREHOUSE_PATH",
                     "SEGMENTATION_PUBLISHED_PATH", "SEGMENTATION_PARQUET_DIR", "SEGMENTATION_REPORTS_DIR",
                     "SEGMENTATION_GROUND_TRUTH_DIR", "DAGSTER_HOME"):
            patch.delenv(name, raising=False)
        patch.setenv("SEGMENTATION_DATA_DIR", str(data_dir))
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            code = cli.main(CLI_RUN_ARGS)
        assert code == 0, output.getvalue()[-3000:]
    yield CliRun(data_dir, output.getvalue())
