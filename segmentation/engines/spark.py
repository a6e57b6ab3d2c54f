"""Spark: the session, table I/O for the Python steps, the quality gate, publish, the Parquet
export and the published marts for the report (SparkWarehouse: segmentation.engines.WarehouseEngine).

dbt-spark's `method: session` runs Spark inside the dbt process, so every step around
`dbt build` (the CLV step, gate, publish) uses the same SparkSession, configured once in
profiles.yml (`spark_session` creates it the same way when this process has none yet).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from segmentation.config import PROJECT_DIR
from segmentation.publish.warehouse import (
    BI_SCHEMAS,
    INTERNAL_PREFIXES,
    INTERNAL_RELATIONS,
    METADATA_TABLE,
    RESTRICTED_SCHEMAS,
    PublishError,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from segmentation.config import Settings
    from segmentation.publish.parquet_export import ExportResult
    from segmentation.quality.gate import QualityReport
    from segmentation.quality.suites import SuiteSpec


# -- The session ---------------------------------------------------------------------------------


def spark_profile_parameters(project_dir: Path = PROJECT_DIR, target: str = "spark") -> dict[str, str]:
    """profiles.yml's server_side_parameters of the spark target, rendered with this environment."""
    import jinja2
    import yaml

    def env_var(name: str, default: str | None = None) -> str:
        value = os.environ.get(name, default)
        if value is None:
            raise KeyError(f"profiles.yml needs the environment variable {name}")
        return value

    text = (project_dir / "profiles.yml").read_text(encoding="utf-8")
    rendered = jinja2.Environment().from_string(text).render(env_var=env_var)
    outputs = yaml.safe_load(rendered)["customer_segmentation"]["outputs"]
    return {str(k): str(v) for k, v in (outputs[target].get("server_side_parameters") or {}).items()}


def spark_session(project_dir: Path = PROJECT_DIR) -> SparkSession:
    """The session dbt-spark uses (session mode: same process), or a new one configured as
    dbt-spark configures it (Hive support and profiles.yml's server_side_parameters: master,
    warehouse folder, metastore)."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    # getActiveSession is per thread, and dbt runs its nodes in worker threads: ask the JVM.
    if SparkContext._active_spark_context is not None:
        return SparkSession.builder.getOrCreate()
    builder = SparkSession.builder.enableHiveSupport()
    for name, value in spark_profile_parameters(project_dir).items():
        builder = builder.config(name, value)
    return builder.getOrCreate()


SECRETS_VIEW = "segmentation_secrets"


def register_secrets(session: SparkSession, secrets: Mapping[str, str]) -> None:
    """Secrets for SQL (macro contact_key_salt): the session's one-row temporary view
    `segmentation_secrets`, a column per secret, made from Python rows. Not a session variable
    or a SQL literal: Spark prints those values in query plans and analysis errors, which reach
    dbt's log; a view over rows shows only its column names."""
    from pyspark.sql import types as T

    schema = T.StructType([T.StructField(name, T.StringType(), False) for name in secrets])
    session.createDataFrame([tuple(secrets.values())], schema=schema).createOrReplaceTempView(SECRETS_VIEW)


# -- Table I/O for the Python steps between dbt commands (segmentation.engines.TableEngine) --------

def spark_schema_of(frame: pd.DataFrame):  # -> pyspark.sql.types.StructType
    """Spark column types for a pandas frame; a column of nulls only is a string."""
    from pyspark.sql import types as T

    def spark_type(series: pd.Series) -> T.DataType:
        if pd.api.types.is_bool_dtype(series):
            return T.BooleanType()
        if pd.api.types.is_integer_dtype(series):
            return T.LongType()
        if pd.api.types.is_float_dtype(series):
            return T.DoubleType()
        if pd.api.types.is_datetime64_any_dtype(series):
            return T.TimestampType()
        values = series.dropna()
        if len(values) and all(type(v).__name__ == "date" for v in values):
            return T.DateType()
        if len(values) and all(isinstance(v, bool) for v in values):
            return T.BooleanType()
        if len(values) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            return T.DoubleType()
        return T.StringType()

    return T.StructType([T.StructField(str(name), spark_type(frame[name]), True) for name in frame.columns])


class SparkTableEngine:
    name = "spark"

    def __init__(self, session: SparkSession | None = None) -> None:
        self._session = session

    @property
    def session(self) -> SparkSession:
        if self._session is None:
            self._session = spark_session()
        return self._session

    def read_frame(self, schema: str, table: str) -> pd.DataFrame:
        return self.session.table(f"{schema}.{table}").toPandas()

    def write_frame(self, frame: pd.DataFrame, schema: str, table: str) -> None:
        # Rows with an explicit schema: no pyarrow needed, NaN becomes null (as in DuckDB), and
        # the rows travel through the driver, so this works on a cluster as it does locally.
        values = frame.astype(object).where(frame.notna(), None)
        data = self.session.createDataFrame(
            list(values.itertuples(index=False, name=None)), schema=spark_schema_of(frame)
        )
        self.session.sql(f"create schema if not exists {schema}")
        data.write.mode("overwrite").format("parquet").saveAsTable(f"{schema}.{table}")

    def close(self) -> None:
        """The session is shared with dbt in this process: left running."""


# -- The quality gate: the same suites, through GX's Spark execution engine -----------------------

SPARK_DATASOURCE_NAME = "warehouse_spark"
# DuckDB's COLUMNS('<regex>') inside a function call (the CLV suite checks the smallest predicted
# CLV over every horizon column, whatever the horizons are): Spark has no such star expression.
_COLUMNS_REGEX = re.compile(r"\*columns\('([^']*)'\)", re.IGNORECASE)


def suite_sql_for_spark(spark: SparkSession, sql: str, relation: str) -> str:
    """A suite's query in Spark SQL: DuckDB's `*columns('<regex>')` spelled out as the columns of
    `relation` that match (`least(a)` of one column is that column: Spark's least needs two)."""

    def expand(match: re.Match[str]) -> str:
        pattern = re.compile(match.group(1))
        names = [name for name in spark.table(relation).columns if pattern.search(name)]
        if not names:
            raise ValueError(f"{relation}: no column matches {match.group(1)!r}")
        return ", ".join(f"`{name}`" for name in names)

    expanded = _COLUMNS_REGEX.sub(expand, sql)
    # least(x) / greatest(x) of a single column: the column itself.
    return re.sub(r"\b(?:least|greatest)\((`[^`,()]+`)\)", r"\1", expanded, flags=re.IGNORECASE)


def validate_spark(
    spark: SparkSession,
    *,
    suites: Sequence[SuiteSpec] | None = None,
    dbt_project_dir: Path,
    pages_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> QualityReport:
    """Run every suite of `segmentation.quality.suites` on the Spark warehouse with GX's Spark
    execution engine; the same verdicts as the DuckDB gate (`critical` failures block).

    Each suite's query becomes a Spark DataFrame that a GX Spark data source validates whole:
    Spark computes every metric (one Spark job each), nothing is collected but GX's results and
    samples. The GX objects live in an ephemeral context: the committed GX project
    (expectations/gx) holds the pandas data source the DuckDB gate uses, and a Spark run must
    not rewrite it, so Spark runs store no GX results and build no Data Docs; `pages_dir` gets
    the gate's offline pages (index + one per suite).
    """
    import os

    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx

    from segmentation.quality.gate import (
        BATCH_DEFINITION_NAME,
        QualityReport,
        _check_id,
        _check_result,
        _dataset_failure,
        _dbt_models,
        _gx_suite,
        _Merged,
        _result_format,
    )
    from segmentation.quality.suites import default_suites

    started = time.monotonic()
    specs = list(default_suites() if suites is None else suites)
    say = progress or (lambda message: None)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    source = context.data_sources.add_spark(SPARK_DATASOURCE_NAME)
    warehouse = Path(spark.conf.get("spark.sql.warehouse.dir", "spark-warehouse").removeprefix("file:"))
    report = QualityReport(warehouse_path=warehouse, run_name=f"validate-spark-{time.strftime('%Y%m%dT%H%M%S')}")
    defined_models = _dbt_models(dbt_project_dir)
    quarter = 0
    for done, spec in enumerate(specs, start=1):
        if 4 * done // len(specs) > quarter:
            quarter = 4 * done // len(specs)
            say(f"quality gate (Spark): suite {done}/{len(specs)} ({spec.name})")
        missing = [r for r in spec.all_relations if not spark.catalog.tableExists(r)]
        if missing:
            undefined = [r for r in missing if r.split(".")[-1] not in defined_models]
            if spec.optional and undefined:
                report.skipped.append(
                    f"{spec.name}: model {', '.join(r.split('.')[-1] for r in undefined)} "
                    "is not defined in the dbt project"
                )
                continue
            report.checks.append(_dataset_failure(spec, f"missing relation {', '.join(missing)}"))
            continue
        try:
            # GX persists the batch's DataFrame itself (one Spark job per metric reads the cache).
            frame = spark.sql(suite_sql_for_spark(spark, spec.sql, spec.relation))
            batch = (
                source.add_dataframe_asset(spec.name)
                .add_batch_definition_whole_dataframe(BATCH_DEFINITION_NAME)
                .get_batch(batch_parameters={"dataframe": frame})
            )
            result = batch.validate(_gx_suite(spec), result_format=_result_format(spec))
            spark.catalog.clearCache()  # GX's persisted batch: not needed by the next suite
        except Exception as error:  # a query Spark cannot run is a failed critical check, as on DuckDB
            report.checks.append(_dataset_failure(spec, f"query failed on Spark: {error}"))
            continue
        by_id = {r.expectation_config.id: r for r in result.results}
        for check in spec.checks:
            gx_result = by_id.get(_check_id(spec, check))
            merged = None
            if gx_result is not None:
                merged = _Merged()
                merged.add(gx_result)
            report.checks.append(_check_result(spec, check, merged))
        report.chunks[spec.name] = 1
    report.seconds = time.monotonic() - started
    if pages_dir is not None:
        from segmentation.quality.pages import write_pages

        report.pages_index = write_pages(report, pages_dir)
    return report


# -- Publish: versioned databases, a database of views switched one view at a time ----------------

PUBLISHED_DATABASE = "published"
VERSION_PREFIX = "published_v"


@dataclass(frozen=True)
class SparkPublishResult:
    """What one Spark publish wrote: the version database and the views switched to it."""

    version: str
    previous: str | None
    published_at: datetime
    tables: dict[str, int] = field(default_factory=dict)  # "schema.table" (working) -> rows
    dropped_versions: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def published_path(self) -> str:
        return f"spark database {PUBLISHED_DATABASE} (views over {self.version})"

    def summary(self) -> str:
        rows = sum(self.tables.values())
        kept = f"; previous version {self.previous} kept" if self.previous else ""
        return (
            f"published {len(self.tables)} tables ({rows:,} rows) to Spark database {self.version} and "
            f"switched the views of `{PUBLISHED_DATABASE}` to it in {self.seconds:.1f}s{kept}"
        )


def publish_spark(
    spark: SparkSession,
    schemas: Sequence[str] | None = None,
    *,
    dbt_invocation_id: str | None = None,
    checks: Mapping[str, int] | None = None,
    now: datetime | None = None,
) -> SparkPublishResult:
    """Copy the BI relations of `schemas` (default: marts, audit; not the fct_* facts nor the
    MetricFlow time spine, as on DuckDB) into a new
    database `published_v<UTC timestamp>`, then point each view `published.<table>` at it.

    Readers query `published.<table>`. The new version is complete (every table written and
    counted) before the first view moves, so no reader sees a half-built build; a failure
    before that drops the new database and leaves the views as they were. Each view switch is
    one metastore operation (`create or replace view`), so a reader sees the old or the new
    table, never a mix within a table. The previous version stays until the next publish
    (queries that resolved the old view keep reading existing files); older ones are dropped.
    Table names must be unique across `schemas` (one database of views).
    """
    started = time.monotonic()
    schemas = tuple(schemas or BI_SCHEMAS)
    refused = [s for s in schemas if s in RESTRICTED_SCHEMAS]
    if refused:
        raise PublishError(f"refusing to publish {', '.join(refused)}: personal or unvalidated data")
    published_at = now or datetime.now(UTC)
    version = f"{VERSION_PREFIX}{published_at:%Y%m%d%H%M%S%f}"
    sources: dict[str, str] = {}  # table name -> schema.table
    for schema in schemas:
        if not spark.catalog.databaseExists(schema):
            continue
        for table in spark.catalog.listTables(schema):
            if (table.isTemporary or table.name.startswith(INTERNAL_PREFIXES) or table.name in INTERNAL_RELATIONS
                    or table.name == METADATA_TABLE):
                continue
            if table.name in sources:
                raise PublishError(f"{schema}.{table.name} and {sources[table.name]}: one name in two schemas")
            sources[table.name] = f"{schema}.{table.name}"
    if not sources:
        raise PublishError(f"nothing to publish: no tables in {', '.join(schemas)}")

    counts: dict[str, int] = {}
    try:
        spark.sql(f"create database {version}")
        for name, source in sorted(sources.items()):
            spark.sql(f"create table {version}.`{name}` using parquet as select * from {source}")
            counts[source] = spark.table(f"{version}.`{name}`").count()
        metadata = spark.createDataFrame(
            [(published_at.replace(tzinfo=None), version, dbt_invocation_id, json.dumps(dict(checks or {})))],
            "published_at timestamp, version string, dbt_invocation_id string, checks string",
        )
        metadata.write.format("parquet").saveAsTable(f"{version}.`{METADATA_TABLE}`")
    except Exception as error:
        spark.sql(f"drop database if exists {version} cascade")
        raise PublishError(f"publishing to Spark database {version} failed, nothing switched: {error}") from error

    previous = current_published_version(spark)
    spark.sql(f"create database if not exists {PUBLISHED_DATABASE}")
    existing_views = {t.name for t in spark.catalog.listTables(PUBLISHED_DATABASE) if not t.isTemporary}
    # The metadata view last: a reader that reads it sees a version whose views are all switched.
    for name in [*sorted(sources), METADATA_TABLE]:
        spark.sql(f"create or replace view {PUBLISHED_DATABASE}.`{name}` as select * from {version}.`{name}`")
    for name in sorted(existing_views - set(sources) - {METADATA_TABLE}):
        spark.sql(f"drop view if exists {PUBLISHED_DATABASE}.`{name}`")  # a mart that no longer exists
    keep = {version, previous}
    dropped = tuple(db for db in published_versions(spark) if db not in keep)
    for database in dropped:
        spark.sql(f"drop database if exists {database} cascade")
    return SparkPublishResult(
        version=version, previous=previous, published_at=published_at, tables=counts,
        dropped_versions=dropped, seconds=time.monotonic() - started,
    )


def published_versions(spark: SparkSession) -> list[str]:
    """Every version database, oldest first (the names sort by their timestamp)."""
    return sorted(db.name for db in spark.catalog.listDatabases() if db.name.startswith(VERSION_PREFIX))


def current_published_version(spark: SparkSession) -> str | None:
    """The version the published views point at now (None before the first publish)."""
    if not spark.catalog.tableExists(f"{PUBLISHED_DATABASE}.{METADATA_TABLE}"):
        return None
    row = spark.table(f"{PUBLISHED_DATABASE}.{METADATA_TABLE}").select("version").first()
    return None if row is None else row[0]


# -- The pipeline's steps after dbt on Spark ----------------------------------------------------------


def validate_and_publish_spark(
    spark: SparkSession,
    *,
    dbt_project_dir: Path,
    suites: Sequence[SuiteSpec] | None = None,
    pages_dir: Path | None = None,
    dbt_invocation_id: str | None = None,
    schemas: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[QualityReport, SparkPublishResult | None]:
    """The gate, then publish only if no critical check failed (None: blocked, nothing written)."""
    say = progress or (lambda message: None)
    report = validate_spark(spark, suites=suites, dbt_project_dir=dbt_project_dir, pages_dir=pages_dir,
                            progress=say)
    if not report.passed:
        return report, None
    say(f"publishing to Spark: a new {VERSION_PREFIX}<time> database, then the views of {PUBLISHED_DATABASE}")
    published = publish_spark(
        spark, schemas, dbt_invocation_id=dbt_invocation_id,
        checks={"total": len(report.checks), "failed_warnings": len(report.warnings), "failed_blocking": 0},
    )
    return report, published


def warehouse_summary_spark(spark: SparkSession) -> str:
    """`segmentation run`'s row accounting (file, raw, clean, rejected, quarantined) from Spark."""
    from segmentation.summary import summary_from

    return summary_from(lambda sql: [tuple(row) for row in spark.sql(sql).collect()])


def has_review_history_spark(spark: SparkSession) -> bool:
    """True when the Spark warehouse already holds at least one segment review."""
    if not spark.catalog.tableExists("marts.segment_reviews"):
        return False
    return spark.table("marts.segment_reviews").limit(1).count() > 0


def release_spark() -> bool:
    """Stop this process's Spark session and its JVM, if it has one; True if it had.

    Spark-local's Derby metastore is embedded: one JVM at a time may open it. Dagster runs dbt
    as a subprocess (its own JVM), so the Dagster process lets go of its session before each
    dbt command; the next step in this process starts a new one (SparkSession.stop alone keeps
    the JVM, and with it the metastore, open). pyspark's JVM exits when its stdin closes.
    """
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    gateway = SparkContext._gateway
    if gateway is None:
        return False
    session = SparkSession._instantiatedSession
    if session is not None:
        session.stop()
    elif SparkContext._active_spark_context is not None:
        SparkContext._active_spark_context.stop()
    process = getattr(gateway, "proc", None)
    gateway.shutdown()
    if process is not None:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(timeout=120)
    SparkContext._gateway = None
    SparkContext._jvm = None
    return True


# -- After publish: the Parquet export and the published marts for the report ------------------------


def export_parquet_spark(spark: SparkSession, export_root: Path) -> ExportResult:
    """DuckDB's export (segmentation.publish.parquet_export), written by Spark from the published
    views: the same tables, layout and versions (`versions/<UTC time>/<table>/<column>=<value>/`,
    `current` switched atomically, the newest KEEP_VERSIONS kept), one file per partition (Spark
    names it part-*.parquet; readers glob `**/*.parquet`), timestamps as INT64 microseconds as
    DuckDB writes them. The export root must be a folder that the driver and every executor see
    (local here; on a cluster, shared storage that has symbolic links)."""
    import shutil

    from segmentation.publish.leftovers import remove_leftovers
    from segmentation.publish.parquet_export import (
        CSV_TABLES,
        EXPORTED_TABLES,
        KEEP_VERSIONS,
        ExportError,
        ExportResult,
        _point_current_at,
        _prune,
    )

    started = time.monotonic()
    export_root = Path(export_root).resolve()
    present = ({t.name for t in spark.catalog.listTables(PUBLISHED_DATABASE)}
               if spark.catalog.databaseExists(PUBLISHED_DATABASE) else set())
    missing = sorted(set(EXPORTED_TABLES) - present)
    if missing:
        raise ExportError(f"Spark database {PUBLISHED_DATABASE} has no {', '.join(missing)}; rebuild and publish")
    versions = export_root / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    remove_leftovers(versions, ".")
    remove_leftovers(export_root, ".current.tmp-")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    version_dir = versions / stamp
    staging = versions / f".{stamp}.tmp-{os.getpid()}"
    tables: dict[str, int] = {}
    timestamp_type = spark.conf.get("spark.sql.parquet.outputTimestampType")
    spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    try:
        staging.mkdir()
        for table, partition_column in EXPORTED_TABLES.items():
            frame = spark.table(f"{PUBLISHED_DATABASE}.`{table}`")
            rows = frame.count()
            if partition_column and rows:
                frame.repartition(partition_column).write.partitionBy(partition_column).parquet(str(staging / table))
            else:  # one file, so readers still find the table and its columns when it is empty
                frame.coalesce(1).write.parquet(str(staging / table))
            tables[table] = rows
        for table in CSV_TABLES:
            frame = spark.table(f"{PUBLISHED_DATABASE}.`{table}`")
            scratch = staging / f".{table}.csv.d"
            (frame.orderBy(*frame.columns).coalesce(1).write
             .options(header=True, timestampFormat="yyyy-MM-dd HH:mm:ss").csv(str(scratch)))
            [part] = scratch.glob("part-*.csv")
            part.rename(staging / f"{table}.csv")
            shutil.rmtree(scratch)
        for marker in [*staging.rglob("_SUCCESS"), *staging.rglob(".*.crc")]:
            marker.unlink()  # Hadoop's bookkeeping files: not part of the export
        staging.rename(version_dir)
        _point_current_at(export_root, version_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        spark.conf.set("spark.sql.parquet.outputTimestampType", timestamp_type)
    _prune(versions, keep=KEEP_VERSIONS, protect=version_dir)
    files = sum(1 for _ in version_dir.rglob("*.parquet"))
    return ExportResult(export_root, version_dir, tables, files, time.monotonic() - started)


def _duckdb_type(spark_type) -> str:  # pyspark.sql.types.DataType -> a DuckDB column type
    name = spark_type.simpleString()
    return {"string": "varchar", "timestamp_ntz": "timestamp"}.get(name, name)


def published_for_duckdb(spark: SparkSession, tables: Sequence[str]):  # -> duckdb.DuckDBPyConnection
    """An in-memory DuckDB whose `marts.<table>` hold the rows of the published views `tables`
    (those that exist), typed as on Spark. The rows come through the driver (Spark's own
    reading of the published version), so this works on a cluster; they are the marts the
    report reads, so the driver holds those tables (per-customer marts: one row per customer)."""
    import duckdb

    from segmentation.engines import NothingPublished

    if current_published_version(spark) is None:
        raise NothingPublished(f"Spark database {PUBLISHED_DATABASE} holds no published build; "
                               "run `segmentation run` first")
    present = {t.name for t in spark.catalog.listTables(PUBLISHED_DATABASE)}
    con = duckdb.connect()
    con.execute("create schema marts")
    for table in tables:
        if table not in present:
            continue
        frame = spark.table(f"{PUBLISHED_DATABASE}.`{table}`")
        columns = ", ".join(f'"{f.name}" {_duckdb_type(f.dataType)}' for f in frame.schema.fields)
        con.execute(f'create table marts."{table}" ({columns})')
        rows = frame.toPandas()
        for field_ in frame.schema.fields:
            if field_.dataType.typeName() == "decimal":  # exact: DuckDB casts the text, not a float
                rows[field_.name] = rows[field_.name].map(lambda v: None if v is None else str(v))
        if len(rows):
            con.register("_published_rows", rows)
            con.execute(f'insert into marts."{table}" select * from _published_rows')
            con.unregister("_published_rows")
    return con


class SparkWarehouse:
    """The steps after dbt on Spark, in this process's Spark session (dbt's, in session mode)."""

    name = "spark"
    working_location = "the Spark catalog (warehouse folder and metastore: profiles.yml, target spark)"
    published_location = f"Spark database {PUBLISHED_DATABASE}"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def session(self) -> SparkSession:
        return spark_session(self.settings.project_dir)

    def validate(self, suites=None, *, chunk_rows=None, build_docs=True, gx_project_dir=None, progress=None):
        # Spark computes each suite's metrics over the whole DataFrame (no chunks); no Data Docs.
        return validate_spark(self.session, suites=suites, dbt_project_dir=self.settings.project_dir,
                              pages_dir=self.settings.gx_docs_index.parents[2] / "gate_pages_spark",
                              progress=progress)

    def publish(self, schemas, *, dbt_invocation_id=None, checks=None) -> SparkPublishResult:
        return publish_spark(self.session, schemas, dbt_invocation_id=dbt_invocation_id, checks=checks)

    def export_parquet(self, export_root: Path | None = None) -> ExportResult:
        return export_parquet_spark(self.session, export_root or self.settings.parquet_dir)

    def open_published(self, tables):
        return published_for_duckdb(self.session, tables)

    def row_accounting(self) -> str:
        return warehouse_summary_spark(self.session)

    def has_review_history(self) -> bool:
        return has_review_history_spark(self.session)
