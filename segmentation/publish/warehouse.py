"""Publish the BI-facing part of a built warehouse as a new DuckDB file, atomically.

BI tools and reports read the *published* file, never the working warehouse that dbt
writes. Publishing:

1. creates `<published>.tmp-<pid>` next to the published file and ATTACHes the working
   warehouse read-only;
2. copies the BI-facing schemas (`marts`, `audit`) as tables, except the order-line and
   ticket facts (`fct_*`, see INTERNAL_PREFIXES) that only feed the review history, and
   MetricFlow's time spine (INTERNAL_RELATIONS). Each
   table is created with the working table's declared column types and NOT NULL
   constraints (the dbt model contracts) and filled with one `INSERT ... SELECT`; `CREATE
   TABLE AS` would drop the constraints. As many tables are filled at once as DuckDB has
   threads, the largest first, each on its own cursor (one insert keeps little more than one
   core busy). `raw`, `staging` and `intermediate` hold personal data (PII) and are refused;
3. records a `_publish` table (when, from which file, dbt invocation, check counts);
4. checkpoints and closes the new file, checks no `.wal` is left, fsyncs it and renames
   it over the published file with `os.replace` (atomic on POSIX).

A reader that opened the old file keeps reading the old file; the next connection sees the
new one; nobody sees a half-written file. When anything fails, the temporary file is
removed and the published file is not touched; the temporary files of a publish that was
killed are removed by the next one (segmentation/publish/leftovers.py).

DuckDB runs with the memory limit and threads of `segmentation.config.duckdb_settings()`
and spills to `<temporary>.spill/`, removed afterwards.

DuckDB allows one writer or many readers per file, never both: the working warehouse is
only read here, and the published file is only ever replaced, never written in place.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from segmentation.config import duckdb_settings
from segmentation.publish.leftovers import remove_leftovers
from segmentation.publish.side_by_side import duckdb_workers, map_on_cursors

log = logging.getLogger(__name__)

BI_SCHEMAS = ("marts", "audit")
# Schemas that hold personal or unvalidated data: never published.
RESTRICTED_SCHEMAS = ("raw", "staging", "intermediate")
METADATA_TABLE = "_publish"
# Relations of the BI schemas that BI does not read: the order-line and ticket facts
# (`fct_*`) are the review history's incremental inputs and hold most of the rows; BI reads
# the review marts built from them. They stay in the working warehouse.
INTERNAL_PREFIXES = ("fct_",)
# MetricFlow's time spine (a day per row from 2000 to 2050) is the semantic layer's helper,
# not a BI table.
INTERNAL_RELATIONS = ("metricflow_time_spine",)


class PublishError(RuntimeError):
    """The warehouse could not be published; the published file is unchanged."""


@dataclass(frozen=True)
class PublishResult:
    published_path: Path
    source_path: Path
    published_at: datetime
    tables: dict[str, int] = field(default_factory=dict)  # "schema.table" -> rows
    size_bytes: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        rows = sum(self.tables.values())
        return (
            f"published {len(self.tables)} tables ({rows:,} rows, {self.size_bytes / 1e6:.1f} MB) "
            f"to {self.published_path} in {self.seconds:.1f}s"
        )


def publish(
    working_path: Path,
    published_path: Path,
    schemas: Sequence[str] = BI_SCHEMAS,
    *,
    dbt_invocation_id: str | None = None,
    checks: Mapping[str, int] | None = None,
) -> PublishResult:
    """Copy `schemas` of the working warehouse into a new file that replaces `published_path`.

    `checks` (e.g. {"total": 91, "failed_warnings": 1}) and `dbt_invocation_id` are stored
    in the `_publish` table. Raises PublishError (leaving the published file as it was).
    """
    started = time.monotonic()
    working_path, published_path = Path(working_path), Path(published_path)
    restricted = sorted(set(schemas) & set(RESTRICTED_SCHEMAS))
    if restricted:
        raise PublishError(
            f"refusing to publish schema(s) {', '.join(restricted)}: they hold personal or "
            f"unvalidated data; publish only BI-facing schemas such as {', '.join(BI_SCHEMAS)}"
        )
    if not schemas:
        raise PublishError("nothing to publish: no schema given")
    if not working_path.is_file():
        raise PublishError(f"{working_path}: the working warehouse does not exist")
    check_settled(working_path)
    if Path(f"{published_path}.wal").exists():
        raise PublishError(
            f"{published_path}.wal exists: something opened the published file for writing; "
            "published files are read-only. Stop that process, then remove the .wal file"
        )
    published_path.parent.mkdir(parents=True, exist_ok=True)
    for leftover in remove_leftovers(published_path.parent, f"{published_path.name}.tmp-"):
        log.info("removed %s, left by a publish that did not finish", leftover)
    temporary = published_path.with_name(f"{published_path.name}.tmp-{os.getpid()}")
    published_at = datetime.now(UTC).replace(tzinfo=None)
    _remove(temporary)
    try:
        tables = _write(temporary, working_path, schemas, published_at, dbt_invocation_id, checks)
        if Path(f"{temporary}.wal").exists():
            raise PublishError(f"{temporary}.wal was left after closing the new file")
        _fsync(temporary)
        os.replace(temporary, published_path)
        _fsync(published_path.parent)
    except BaseException:
        _remove(temporary)
        raise
    return PublishResult(
        published_path=published_path,
        source_path=working_path,
        published_at=published_at,
        tables=tables,
        size_bytes=published_path.stat().st_size,
        seconds=time.monotonic() - started,
    )


def check_settled(working_path: Path, *, build_marker_too: bool = False) -> None:
    """Refuse a working warehouse that a process is writing, or that a build left halfway.

    A killed build leaves what it committed before it died (some models new, some old) and
    often a `.wal`; the gate could pass on such a mix, so it is not published as it is. With
    `build_marker_too` (the CLI's `publish --skip-build`), the `<warehouse>.building` marker
    of a killed CLI build counts too. The message says what to run.
    """
    from segmentation.dbt_runner import build_marker

    working_path = Path(working_path)
    wal, marker = Path(f"{working_path}.wal"), build_marker(working_path)
    left = [path for path in (marker if build_marker_too else None, wal) if path is not None and path.exists()]
    if not left:
        return
    writer = _writer(working_path)
    if writer is not None:
        raise PublishError(f"{working_path} is being written by {writer}: wait for it to finish, then run this again")
    raise PublishError(
        f"{left[0]} was left by a build that did not finish (killed or crashed): {working_path} may be half "
        "built, so it is not published as it is. Run `segmentation publish` (without --skip-build) to "
        "rebuild and publish; the published file was not changed"
    )


def _writer(working_path: Path) -> str | None:
    """The process holding DuckDB's write lock on the file (from DuckDB's own message), or None."""
    from segmentation.errors import lock_holder

    try:
        duckdb.connect(str(working_path), read_only=True).close()
    except duckdb.Error as exc:
        holder = lock_holder(exc)
        if holder is not None:
            return holder
        raise
    return None


def _write(
    target: Path,
    source: Path,
    schemas: Sequence[str],
    published_at: datetime,
    dbt_invocation_id: str | None,
    checks: Mapping[str, int] | None,
) -> dict[str, int]:
    temp_directory = Path(f"{target}.spill")
    con = duckdb.connect(
        str(target), config={**duckdb_settings(), "temp_directory": str(temp_directory)}
    )
    try:
        # Attach under the working file's own catalog name (dbt-duckdb's views name it, e.g.
        # "warehouse"), so a mart materialized as a view still resolves.
        alias = source.stem
        if alias == con.execute("SELECT current_database()").fetchone()[0]:
            alias = "working"
        con.execute(f"ATTACH {_literal(str(source))} AS {_ident(alias)} (READ_ONLY)")
        relations = con.execute(
            """
            SELECT table_schema, table_name, table_type = 'VIEW' FROM information_schema.tables
            WHERE table_catalog = ? AND table_schema IN (SELECT unnest(?))
            ORDER BY table_schema, table_name
            """,
            [alias, list(schemas)],
        ).fetchall()
        found = {schema for schema, _, _ in relations}
        missing = [s for s in schemas if s not in found]
        if missing:
            raise PublishError(
                f"{source} has no table in schema(s) {', '.join(missing)}; run dbt build first"
            )
        for schema in schemas:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(schema)}")
        published = [
            (schema, name, is_view)
            for schema, name, is_view in relations
            if not name.startswith(INTERNAL_PREFIXES) and name not in INTERNAL_RELATIONS
        ]
        for schema, name, is_view in published:
            if not is_view:
                con.execute(
                    f"CREATE TABLE {_ident(schema)}.{_ident(name)} "
                    f"({_column_definitions(con, alias, schema, name)})"
                )
        tables = _copy_tables(con, alias, published, workers=duckdb_workers())
        con.begin()
        checks = dict(checks or {})
        con.execute(
            f"""
            CREATE TABLE main.{METADATA_TABLE} (
                published_at TIMESTAMP, source_file VARCHAR, dbt_invocation_id VARCHAR,
                schemas VARCHAR, tables INTEGER, rows BIGINT, checks_total INTEGER,
                checks_failed_warnings INTEGER, checks_failed_blocking INTEGER
            )"""
        )
        con.execute(
            f"INSERT INTO main.{METADATA_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                published_at,
                str(source),
                dbt_invocation_id,
                ",".join(schemas),
                len(tables),
                sum(tables.values()),
                checks.get("total"),
                checks.get("failed_warnings"),
                checks.get("failed_blocking"),
            ],
        )
        con.commit()
        con.execute(f"DETACH {_ident(alias)}")
        con.execute("CHECKPOINT")
    finally:
        con.close()
        shutil.rmtree(temp_directory, ignore_errors=True)
    return tables


def _copy_tables(
    con: duckdb.DuckDBPyConnection,
    alias: str,
    relations: Sequence[tuple[str, str, bool]],
    *,
    workers: int,
) -> dict[str, int]:
    """Fill the published tables from the working ones, `workers` tables at a time, the
    largest first; returns "schema.table" -> rows.

    One `INSERT ... SELECT` (or, for a view, `CREATE TABLE AS`) per table on its own cursor
    of the same database. Why at once: a single insert of a compressed table kept about
    1.2 of 2 cores busy at 1M customers (most of the time goes to compressing the new
    row groups, serially per table), so copying two tables side by side uses the second
    core. Every statement commits on its own cursor; nobody sees the file before the
    rename, so the copy needs no single transaction to be atomic.
    """
    sizes = dict(
        ((schema, name), rows)
        for schema, name, rows in con.execute(
            "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() WHERE database_name = ?",
            [alias],
        ).fetchall()
    )
    ordered = sorted(relations, key=lambda relation: -(sizes.get(relation[:2]) or 0))

    def copy(cursor: duckdb.DuckDBPyConnection, relation: tuple[str, str, bool]) -> tuple[str, int]:
        schema, name, is_view = relation
        qualified = f"{_ident(schema)}.{_ident(name)}"
        source_relation = f"{_ident(alias)}.{qualified}"
        if is_view:
            # A view has no constraints to keep: materialize what it returns.
            cursor.execute(f"CREATE TABLE {qualified} AS SELECT * FROM {source_relation}")
            rows = cursor.execute(f"SELECT count(*) FROM {qualified}").fetchone()[0]
        else:
            rows = cursor.execute(f"INSERT INTO {qualified} SELECT * FROM {source_relation}").fetchone()[0]
        return f"{schema}.{name}", rows

    copied = dict(map_on_cursors(con, ordered, copy, workers=workers, name="publish"))
    # The published order (and so `_publish.tables`' sum) does not depend on who finished first.
    return {f"{schema}.{name}": copied[f"{schema}.{name}"] for schema, name, _ in relations}


def _column_definitions(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> str:
    """The columns of a working table with their declared types and NOT NULL constraints
    (the dbt model contracts), for the published copy: CREATE TABLE AS would drop them."""
    columns = con.execute(
        """
        SELECT column_name, data_type, is_nullable FROM duckdb_columns()
        WHERE database_name = ? AND schema_name = ? AND table_name = ?
        ORDER BY column_index
        """,
        [catalog, schema, table],
    ).fetchall()
    return ", ".join(
        f"{_ident(column)} {data_type}{'' if nullable else ' NOT NULL'}"
        for column, data_type, nullable in columns
    )


def _fsync(path: Path) -> None:
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() and hasattr(os, "O_DIRECTORY") else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the rename is still atomic
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    for candidate in (path, Path(f"{path}.wal")):
        candidate.unlink(missing_ok=True)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
