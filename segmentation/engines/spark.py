"""Spark: tables of the Spark catalog, through the session dbt-spark uses (session mode).

The session is built from profiles.yml's spark target (`server_side_parameters`), exactly as
dbt-spark builds it, so a Python step and dbt share one session, warehouse folder and
metastore when they run in the same process (the CLI runs dbt in-process).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from segmentation.config import PROJECT_DIR

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


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


def spark_session_from_profile(project_dir: Path = PROJECT_DIR) -> SparkSession:
    """The active Spark session, or a new one configured like dbt-spark's session mode."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.enableHiveSupport()
    for name, value in spark_profile_parameters(project_dir).items():
        builder = builder.config(name, value)
    return builder.getOrCreate()


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
            self._session = spark_session_from_profile()
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
