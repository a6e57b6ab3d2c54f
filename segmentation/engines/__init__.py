"""Engine I/O outside dbt: read a relation of the warehouse into pandas, write a frame as a table.

One module per engine (duckdb.py, spark.py, postgres.py), chosen once from the dbt target
(`SEGMENTATION_DBT_TARGET`, as profiles.yml does), so the Python steps that run between dbt
commands (the CLV step) have no engine-specific code of their own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from segmentation.config import Settings

DEFAULT_TARGET = "duckdb"


class TableEngine(Protocol):
    """What a Python step needs from the warehouse: read one relation, write one table."""

    name: str

    def read_frame(self, schema: str, table: str) -> pd.DataFrame:
        """Every row of schema.table as a pandas frame."""
        ...

    def write_frame(self, frame: pd.DataFrame, schema: str, table: str) -> None:
        """Replace schema.table (creating the schema when needed) with the frame's rows."""
        ...

    def close(self) -> None:
        """Release connections this engine opened (not a shared Spark session)."""
        ...


def dbt_target(environ: Mapping[str, str] | None = None) -> str:
    """The dbt target in use: SEGMENTATION_DBT_TARGET, else duckdb (profiles.yml's default)."""
    return (environ if environ is not None else os.environ).get("SEGMENTATION_DBT_TARGET") or DEFAULT_TARGET


def table_engine(settings: Settings, target: str | None = None) -> TableEngine:
    """The engine of a dbt target (default: the current one); its module is imported only here."""
    target = target or dbt_target()
    if target == "duckdb":
        from segmentation.engines.duckdb import DuckDbTableEngine

        return DuckDbTableEngine(settings.warehouse_path)
    if target == "spark":
        from segmentation.engines.spark import SparkTableEngine

        return SparkTableEngine()
    if target == "postgres":
        from segmentation.engines.postgres import PostgresTableEngine

        return PostgresTableEngine()
    raise ValueError(f"no table engine for dbt target {target!r}; SEGMENTATION_DBT_TARGET must be one of "
                     "duckdb, spark, postgres")
