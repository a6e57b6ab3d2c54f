"""PostgreSQL: read with a query, write with CREATE TABLE + COPY, in one transaction per table."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping

import pandas as pd


def postgres_connection_parameters() -> dict[str, object]:
    """The connection of profiles.yml's postgres target, from the same environment variables."""
    env = os.environ
    return {
        "host": env.get("SEGMENTATION_PG_HOST", "127.0.0.1"),
        "port": int(env.get("SEGMENTATION_PG_PORT", "55432")),
        "user": env.get("SEGMENTATION_PG_USER", "segmentation"),
        "password": env.get("SEGMENTATION_PG_PASSWORD", ""),
        "dbname": env.get("SEGMENTATION_PG_DATABASE", "segmentation"),
    }


def secrets_environment(secrets: Mapping[str, str]) -> dict[str, str]:
    """Secrets for SQL (macro contact_key_salt): PGOPTIONS with a setting segmentation.<name>
    per secret, which libpq sends when dbt connects; SQL reads current_setting(...), so no SQL
    text holds a value. The environment to set while the dbt command runs."""
    options = os.environ.get("PGOPTIONS", "")
    for name, value in secrets.items():
        options = pgoptions_with_setting(options, f"segmentation.{name}", value)
    return {"PGOPTIONS": options}


def pgoptions_with_setting(pgoptions: str, name: str, value: str) -> str:
    """PGOPTIONS (libpq's `options`) with `-c name=value` added: the server sets it for the
    session, so SQL reads it with current_setting(name) and no SQL text holds the value.
    The server splits options at whitespace unless escaped with a backslash, and reads a
    backslash as escaping the next character, so both are escaped; nothing else is special
    (no shell reads it)."""
    escaped = "".join(f"\\{c}" if c.isspace() or c == "\\" else c for c in value)
    return f"{pgoptions} -c {name}={escaped}".strip()


def _postgres_type(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "bigint"
    if pd.api.types.is_float_dtype(series):
        return "double precision"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "timestamp"
    values = series.dropna()
    if len(values) and all(type(v).__name__ == "date" for v in values):
        return "date"
    if len(values) and all(isinstance(v, bool) for v in values):
        return "boolean"
    if len(values) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "double precision"
    return "text"


class PostgresTableEngine:
    name = "postgres"

    def __init__(self) -> None:
        import psycopg2

        self._connection = psycopg2.connect(**postgres_connection_parameters())

    def read_frame(self, schema: str, table: str) -> pd.DataFrame:
        with self._connection.cursor() as cur:
            cur.execute(f'select * from "{schema}"."{table}"')
            columns = [d.name for d in cur.description]
            frame = pd.DataFrame(cur.fetchall(), columns=columns)
        # numeric comes back as Decimal: the statistics want floats.
        for column in frame.columns:
            if frame[column].map(lambda v: type(v).__name__ == "Decimal").any():
                frame[column] = frame[column].astype("float64")
        return frame

    def write_frame(self, frame: pd.DataFrame, schema: str, table: str) -> None:
        ddl = ", ".join(f'"{name}" {_postgres_type(frame[name])}' for name in frame.columns)
        buffer = io.StringIO()
        frame.to_csv(buffer, index=False, header=False, na_rep="\\N", float_format="%.17g")
        buffer.seek(0)
        with self._connection.cursor() as cur:
            cur.execute(f'create schema if not exists "{schema}"')
            cur.execute(f'drop table if exists "{schema}"."{table}" cascade')
            cur.execute(f'create table "{schema}"."{table}" ({ddl})')
            cur.copy_expert(f'copy "{schema}"."{table}" from stdin with (format csv, null \'\\N\')', buffer)
        self._connection.commit()

    def close(self) -> None:
        self._connection.close()
