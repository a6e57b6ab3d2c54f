"""Shared fixtures. The sample warehouse is generated, loaded and built once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
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
    """Generate the sample, load it and run `dbt build` (models, seeds, all dbt tests)."""
    from segmentation.dbt_runner import run_dbt
    from segmentation.generate import GeneratorConfig, generate
    from segmentation.load import load_landing

    settings = settings_for(tmp_path_factory.mktemp("sample"))
    generate(GeneratorConfig(customers=SAMPLE_CUSTOMERS, seed=SAMPLE_SEED), settings.data_dir)
    load_landing(settings.landing_dir, settings.warehouse_path)
    run_dbt(["build"], settings)
    return BuiltWarehouse(settings)
