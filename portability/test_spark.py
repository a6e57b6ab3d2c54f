"""The quality gate and publish on Spark (`make portability` runs these; they need Java 17 and pyspark).

Not under tests/: `make test` runs without Spark. Each test works on small hand-made tables in a
Spark session of its own (local, Derby metastore and warehouse under a temporary folder).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pyspark = pytest.importorskip("pyspark")

from segmentation.engines.spark import (  # noqa: E402  (after the skip: needs pyspark)
    PUBLISHED_DATABASE,
    current_published_version,
    publish_spark,
    published_versions,
    suite_sql_for_spark,
    validate_and_publish_spark,
)
from segmentation.quality.suites import CRITICAL, WARNING, SuiteSpec, between, not_null  # noqa: E402

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    from pyspark.sql import SparkSession

    home = tmp_path_factory.mktemp("spark")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        SparkSession.builder.enableHiveSupport()
        .master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(home / "warehouse"))
        .config("spark.hadoop.javax.jdo.option.ConnectionURL",
                f"jdbc:derby:;databaseName={home / 'metastore_db'};create=true")
        .getOrCreate()
    )
    yield session
    session.stop()


def _mart(spark, rows: list[tuple[str, float | None]]) -> None:
    """marts.customer_value: the table the suite below checks (customer_id, value)."""
    spark.sql("create database if not exists marts")
    spark.createDataFrame(rows, "customer_id string, value double").write.mode("overwrite").format(
        "parquet").saveAsTable("marts.customer_value")


SUITE = SuiteSpec(
    name="marts_customer_value_rows",
    layer="marts",
    relation="marts.customer_value",
    sql="select customer_id, value from marts.customer_value",
    checks=(not_null("customer_id"), not_null("value"), between("value", 0, severity=WARNING)),
    chunked=True,
    index_columns=("customer_id",),
)


def _pipeline(tmp_path: Path, monkeypatch, exports: list[Path]):
    """What `segmentation publish --skip-build` runs with SEGMENTATION_DBT_TARGET=spark. The Parquet
    export after a publish (it needs every BI mart; make portability runs it) is only recorded."""
    from segmentation.config import Settings
    from segmentation.engines.spark import SparkWarehouse
    from segmentation.pipeline import build_validate_publish

    monkeypatch.setenv("SEGMENTATION_DBT_TARGET", "spark")
    monkeypatch.setattr(SparkWarehouse, "export_parquet", lambda self, root=None: exports.append(root))
    settings = Settings.from_env({"SEGMENTATION_DATA_DIR": str(tmp_path)})
    return build_validate_publish(settings, dbt_args=None, suites=[SUITE], schemas=["marts"])


def test_a_failing_critical_expectation_blocks_the_spark_publish(spark, tmp_path: Path, monkeypatch) -> None:
    exports: list[Path] = []
    _mart(spark, [("C1", 10.0), ("C2", -1.0)])
    result = _pipeline(tmp_path, monkeypatch, exports)
    assert result.published, result.summary()  # a warning (negative value) does not block
    assert exports == [tmp_path / "published" / "parquet"]
    assert [c.expectation_type for c in result.quality.warnings] == ["expect_column_values_to_be_between"]
    good = result.publish.version
    assert current_published_version(spark) == good

    _mart(spark, [("C1", 10.0), ("C2", None), ("C3", 5.0)])  # a null value: critical
    result = _pipeline(tmp_path, monkeypatch, exports)

    assert not result.published and result.publish is None
    assert len(exports) == 1, "a blocked build exports nothing"
    assert "BLOCKED" in result.summary()
    [failure] = result.quality.blocking_failures
    assert failure.severity == CRITICAL and failure.column == "value"
    assert failure.unexpected_count == 1 and failure.element_count == 3
    assert "customer_id=C2" in failure.sample[0]
    # Nothing was written or switched: BI still reads the good build.
    assert current_published_version(spark) == good
    assert published_versions(spark)[-1] == good
    rows = spark.table(f"{PUBLISHED_DATABASE}.customer_value").orderBy("customer_id").collect()
    assert [tuple(r) for r in rows] == [("C1", 10.0), ("C2", -1.0)]


def test_publish_switches_the_views_and_keeps_only_the_previous_version(spark) -> None:
    # Not BI tables, as on DuckDB: the facts and MetricFlow's time spine stay in the working schema.
    spark.sql("create database if not exists marts")
    spark.sql("create table if not exists marts.fct_lines (id string) using parquet")
    spark.sql("create table if not exists marts.metricflow_time_spine (date_day date) using parquet")
    versions = []
    for value in (1.0, 2.0, 3.0):
        _mart(spark, [("C1", value)])
        published = publish_spark(spark, ["marts"])
        versions.append(published.version)
        assert spark.table(f"{PUBLISHED_DATABASE}.customer_value").collect()[0]["value"] == value

    assert sorted(published.tables) == ["marts.customer_value"]
    assert published.previous == versions[1]
    assert published_versions(spark) == versions[1:]  # the one before the previous is dropped
    assert spark.table(f"{versions[1]}.customer_value").collect()[0]["value"] == 2.0
    assert current_published_version(spark) == versions[2]


def test_a_missing_relation_is_a_failed_critical_check_on_spark(spark) -> None:
    missing = SuiteSpec(name="marts_gone", layer="marts", relation="marts.gone", sql="select * from marts.gone",
                        checks=(not_null("x"),), chunked=True)
    report, published = validate_and_publish_spark(spark, dbt_project_dir=PROJECT_DIR, suites=[missing])
    assert published is None
    assert report.blocking_failures[0].sample == ("missing relation marts.gone",)


def test_duckdb_star_columns_are_spelled_out_for_spark(spark) -> None:
    spark.sql("create database if not exists marts")
    spark.sql("drop table if exists marts.clv")
    spark.sql("create table marts.clv (customer_id string, predicted_clv_12m double, "
              "predicted_clv_36m double, p_alive double) using parquet")
    sql = "select least(*columns('^predicted_clv_[0-9]+m$')) as m from marts.clv"
    assert suite_sql_for_spark(spark, sql, "marts.clv") == (
        "select least(`predicted_clv_12m`, `predicted_clv_36m`) as m from marts.clv")
    spark.sql("drop table if exists marts.clv1")
    spark.sql("create table marts.clv1 (predicted_clv_12m double) using parquet")
    sql1 = "select least(*columns('^predicted_clv_[0-9]+m$')) as m from marts.clv1"
    assert suite_sql_for_spark(spark, sql1, "marts.clv1") == "select `predicted_clv_12m` as m from marts.clv1"
