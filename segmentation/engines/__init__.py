"""The warehouse outside dbt, one module per engine, chosen once from the dbt target.

`SEGMENTATION_DBT_TARGET` (as profiles.yml reads it) picks duckdb.py, spark.py or postgres.py, so
the steps around dbt have no engine-specific code of their own:
- `table_engine`: read a relation into pandas and write a frame as a table (the CLV step);
- `warehouse_engine`: the steps after dbt (quality gate, publish, Parquet export, the published
  marts the report reads, the row accounting); the CLI and Dagster call the same methods;
- `hand_secrets_to_engine`: before a dbt command, the secrets SQL reads at run time;
- `release_warehouse`: before a dbt subprocess (Dagster's dbt assets), let go of the warehouse.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

    import duckdb
    import pandas as pd

    from segmentation.config import Settings
    from segmentation.publish.parquet_export import ExportResult
    from segmentation.quality.gate import QualityReport
    from segmentation.quality.suites import SuiteSpec

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


class NothingPublished(LookupError):
    """The engine holds no published build yet (the message says where it looked)."""


class WarehouseEngine(Protocol):
    """The steps after dbt on one engine: the same verdicts, publish and outputs everywhere."""

    name: str
    working_location: str  # where dbt builds, for messages
    published_location: Path | str  # what BI reads: a file (DuckDB) or a database of views (Spark)

    def validate(
        self, suites: Sequence[SuiteSpec] | None = None, *, chunk_rows: int | None = None, build_docs: bool = True,
        gx_project_dir: Path | None = None, progress: Callable[[str], None] | None = None,
    ) -> QualityReport:
        """The quality gate (every suite of segmentation.quality.suites by default)."""
        ...

    def publish(self, schemas: Sequence[str], *, dbt_invocation_id: str | None = None,
                checks: dict[str, int] | None = None) -> object:
        """Publish the BI schemas atomically; a result with `summary()` and `tables`."""
        ...

    def export_parquet(self, export_root: Path | None = None) -> ExportResult:
        """The published BI marts as Parquet partitioned by review (segmentation.publish.parquet_export)."""
        ...

    def open_published(self, tables: Sequence[str]) -> duckdb.DuckDBPyConnection:
        """A read-only DuckDB connection in which `marts.<table>` are these published marts (those
        that exist): the report's one way to read them. Raises NothingPublished."""
        ...

    def row_accounting(self) -> str:
        """`segmentation run`'s row accounting (segmentation.summary) of the working warehouse."""
        ...

    def has_review_history(self) -> bool:
        """True when the working warehouse holds at least one segment review."""
        ...


def warehouse_engine(settings: Settings, target: str | None = None, *,
                     published_path: Path | None = None) -> WarehouseEngine:
    """The post-dbt engine of a dbt target (default: the current one). `published_path`: DuckDB's
    published file when not settings.published_path (`segmentation publish --to`)."""
    target = target or dbt_target()
    if target == "duckdb":
        from segmentation.engines.duckdb import DuckDbWarehouse

        return DuckDbWarehouse(settings, published_path)
    if target == "spark":
        from segmentation.engines.spark import SparkWarehouse

        return SparkWarehouse(settings)
    raise ValueError(f"no quality gate or publish for dbt target {target!r} yet: use duckdb or spark "
                     "(SEGMENTATION_DBT_TARGET)")


def hand_secrets_to_engine(secrets: Mapping[str, str], project_dir: Path, target: str | None = None) -> dict[str, str]:
    """Before a dbt command: give the engine the secrets its SQL reads at run time (macro
    contact_key_salt), beside dbt, never through dbt's rendering; the environment variables to
    set while the command runs. DuckDB: nothing here (the profile's plugin sets them,
    segmentation/dbt_secrets.py). PostgreSQL: settings in PGOPTIONS. Spark (session mode, dbt
    in this process): a temporary view of the session, made now."""
    target = target or dbt_target()
    if target == "postgres":
        from segmentation.engines.postgres import secrets_environment

        return secrets_environment(secrets)
    if target == "spark":
        from segmentation.engines.spark import register_secrets, spark_session

        register_secrets(spark_session(project_dir), secrets)
    return {}


def release_warehouse(target: str | None = None) -> None:
    """Before a dbt subprocess (Dagster runs dbt as one): let go of what this process holds of
    the warehouse. Only Spark holds anything between steps: its session's JVM keeps Spark-local's
    embedded Derby metastore open, and one JVM at a time may open it (the next step here starts
    a new session). DuckDB's and PostgreSQL's steps close their connections themselves."""
    if (target or dbt_target()) == "spark":
        from segmentation.engines.spark import release_spark

        release_spark()
