"""The one resource every asset shares: where the landing files, raw zone and warehouse live."""


from pathlib import Path

import dagster as dg

from segmentation.config import Settings

# Runs tagged with this key are limited to one at a time by the run queue (see
# orchestration/dagster.yaml); ops that open the DuckDB file share the same pool.
# DuckDB allows one writer process or many readers, never both.
WAREHOUSE_WRITER_TAG = {"segmentation/warehouse": "writer"}
WAREHOUSE_POOL = "duckdb_warehouse"


class SegmentationResource(dg.ConfigurableResource):
    """Paths from the same environment variables as the CLI; each can be overridden here."""

    data_dir: str | None = None
    landing_dir: str | None = None
    raw_dir: str | None = None
    warehouse_path: str | None = None

    def settings(self) -> Settings:
        overrides = {
            key: value
            for key, value in {
                "SEGMENTATION_DATA_DIR": self.data_dir,
                "SEGMENTATION_LANDING_DIR": self.landing_dir,
                "SEGMENTATION_RAW_DIR": self.raw_dir,
                "SEGMENTATION_WAREHOUSE_PATH": self.warehouse_path,
            }.items()
            if value
        }
        import os

        return Settings.from_env({**os.environ, **overrides})

    @property
    def warehouse(self) -> Path:
        return self.settings().warehouse_path
