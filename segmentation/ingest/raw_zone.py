"""The typed Parquet raw zone: where the loader writes and how every engine reads it.

Layout under SEGMENTATION_RAW_DIR (default `$SEGMENTATION_DATA_DIR/raw`):

    <entity>/<load_id>_<n>.parquet        typed rows of one landing file, with the metadata
                                          columns _load_id, _source_file, _source_line_number,
                                          _loaded_at
    <entity>/_schema.parquet              zero rows, the entity's typed columns: an entity
                                          without files is still readable
    _schemas/<table>/schema.parquet       the same zero-row file for every table, under a name
                                          Spark reads (it skips files named `_*`): Spark's
                                          raw tables take their column types from it
    _load_rejects/<load_id>_<n>.parquet   rejects of one landing file (only when it has some)
    _load_manifest/<load_id>.parquet      one row per landing file of a committed load: loaded,
                                          or ignored with the reason (hidden file, folder, ...)
    _staging/<load_id>/                   files being written (never read)
    .lock                                 held by the one loader that may write

**Commit protocol.** A load writes each file under `_staging/` and renames it into its
entity folder once complete, so a reader never opens a half-written Parquet file. Its
manifest is written last and renamed into `_load_manifest/`: that rename is the commit.
Readers keep only the rows whose load id has a manifest (`committed_filter`), so rows of
a load that failed or was killed are never visible, even though their files may sit next
to committed ones until the next load removes them (`remove_uncommitted`).

Why readers filter instead of moving files in place only after the commit: a load writes
many files, and moving many files is not atomic. One rename (the manifest) is, and the
filter costs a semi-join with a handful of load ids. It also works unchanged on Spark
(`create table ... using parquet location ...` plus a view with the same filter) and for
a copy into PostgreSQL (copy the committed files only).
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from segmentation.config import duckdb_settings
from segmentation.ingest.contract import Contract, Entity, load_contract

MANIFEST = "_load_manifest"
REJECTS = "_load_rejects"
STAGING = "_staging"
SCHEMA_FILE = "_schema.parquet"
# Spark skips files whose name starts with `_` or `.`, even when named explicitly: its copy
# of each schema file lives at SCHEMAS/<table>/SPARK_SCHEMA_FILE (macros/raw_zone.sql).
SCHEMAS = "_schemas"
SPARK_SCHEMA_FILE = "schema.parquet"
LOCK_FILE = ".lock"

METADATA_COLUMNS = (
    ("_load_id", "VARCHAR"),
    ("_source_file", "VARCHAR"),
    ("_source_line_number", "BIGINT"),
    ("_loaded_at", "TIMESTAMP"),
)
MANIFEST_COLUMNS = (
    ("load_id", "VARCHAR"),
    ("entity", "VARCHAR"),
    ("file_path", "VARCHAR"),
    ("content_sha256", "VARCHAR"),
    ("file_bytes", "BIGINT"),
    ("file_format", "VARCHAR"),
    ("rows_read", "BIGINT"),
    ("rows_loaded", "BIGINT"),
    ("rows_rejected", "BIGINT"),
    ("ignored_columns", "VARCHAR"),
    ("loaded_at", "TIMESTAMP"),
    ("status", "VARCHAR"),
    ("note", "VARCHAR"),
)
REJECT_COLUMNS = (
    ("load_id", "VARCHAR"),
    ("entity", "VARCHAR"),
    ("file_path", "VARCHAR"),
    ("line_number", "BIGINT"),
    ("column_name", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("raw_value", "VARCHAR"),
    ("raw_text", "VARCHAR"),
    ("rejected_at", "TIMESTAMP"),
)


class RawZoneLocked(RuntimeError):
    """Another load holds the raw zone."""


@dataclass(frozen=True)
class DuckDBSettings:
    """Resources the loader's DuckDB may use; from the environment, with defaults that keep
    one landing file of any size within a few GB (DuckDB spills to temp_directory)."""

    memory_limit: str
    threads: int
    temp_directory: Path

    @classmethod
    def from_env(cls, raw_dir: Path, environ: os._Environ[str] | dict[str, str] | None = None) -> DuckDBSettings:
        """The project's DuckDB settings (segmentation.config.duckdb_settings), spilling under the raw zone."""
        env = os.environ if environ is None else environ
        common = duckdb_settings(env)
        temp = env.get("SEGMENTATION_DUCKDB_TEMP_DIRECTORY")
        return cls(
            memory_limit=common["memory_limit"],
            threads=int(common["threads"]),
            temp_directory=Path(temp) / "loader" if temp else raw_dir / STAGING / "duckdb_tmp",
        )

    def connect(self) -> duckdb.DuckDBPyConnection:
        self.temp_directory.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(
            config={
                "memory_limit": self.memory_limit,
                "threads": self.threads,
                "temp_directory": str(self.temp_directory),
                # Record numbers come from row_number() over the reader's output: it must
                # keep the file's order (DuckDB streams in order with bounded buffers).
                "preserve_insertion_order": True,
            }
        )
        con.execute("SET TimeZone = 'UTC'")
        return con


def entity_columns(entity: Entity) -> list[tuple[str, str]]:
    return [(c.name, c.sql_type) for c in entity.columns] + list(METADATA_COLUMNS)


def table_columns(contract: Contract) -> dict[str, list[tuple[str, str]]]:
    """Every raw-zone table and its typed columns, in order."""
    tables = {entity.name: entity_columns(entity) for entity in contract.entities}
    tables[MANIFEST] = list(MANIFEST_COLUMNS)
    tables[REJECTS] = list(REJECT_COLUMNS)
    return tables


def ident(name: str) -> str:
    """A SQL identifier, quoted: names from files are never pasted into SQL as they are."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str | Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def committed_load_ids(raw_dir: Path) -> set[str]:
    """Loads whose manifest is in place (file names are the load ids)."""
    folder = raw_dir / MANIFEST
    if not folder.is_dir():
        return set()
    return {p.stem for p in folder.glob("*.parquet") if not p.name.startswith("_")}


def load_id_of(path: Path) -> str | None:
    """The load that wrote a data file (`<load_id>_<n>.parquet`); None for schema files."""
    if path.name.startswith("_") or not path.name.endswith(".parquet"):
        return None
    return path.name.split("_", 1)[0]


def committed_filter(raw_dir: Path, load_id_column: str) -> str:
    manifest = literal(raw_dir / MANIFEST / "*.parquet")
    return f"{ident(load_id_column)} IN (SELECT load_id FROM read_parquet({manifest}))"


def view_sql(raw_dir: Path, table: str, columns: list[tuple[str, str]]) -> str:
    """What a reader sees of one raw-zone table: committed rows, typed columns in order.

    The same SQL as macros/raw_zone.sql renders for dbt on DuckDB.
    """
    files = literal(raw_dir / table / "*.parquet")
    select = ", ".join(ident(name) for name, _ in columns)
    source = f"read_parquet({files}, union_by_name = true)"
    if table == MANIFEST:
        return f"SELECT {select} FROM {source}"
    load_id = "load_id" if table == REJECTS else "_load_id"
    return f"SELECT {select} FROM {source} WHERE {committed_filter(raw_dir, load_id)}"


@contextmanager
def connect(raw_dir: Path, contract: Contract | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with schema `raw` holding a view per raw-zone table (read-only use:
    the CLI summary, Dagster metadata, tests)."""
    contract = contract or load_contract()
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("CREATE SCHEMA raw")
        for table, columns in table_columns(contract).items():
            con.execute(f"CREATE VIEW raw.{ident(table)} AS {view_sql(raw_dir, table, columns)}")
        yield con
    finally:
        con.close()


def write_schema_files(con: duckdb.DuckDBPyConnection, raw_dir: Path, staging: Path, contract: Contract) -> None:
    """A zero-row typed file per table, so every table reads with its columns before any load
    (and a copy under SCHEMAS/ that Spark reads its raw tables' column types from).

    Rewritten by every load (atomically), so a column added to the contract appears too."""
    for table, columns in table_columns(contract).items():
        select = ", ".join(f"CAST(NULL AS {sql_type}) AS {ident(name)}" for name, sql_type in columns)
        targets = (raw_dir / table / SCHEMA_FILE, raw_dir / SCHEMAS / table / SPARK_SCHEMA_FILE)
        for copy, target in enumerate(targets):
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = staging / f"{table}{copy}{SCHEMA_FILE}"
            con.execute(f"COPY (SELECT {select} WHERE false) TO {literal(temp)} (FORMAT parquet)")
            os.replace(temp, target)


def remove_uncommitted(raw_dir: Path) -> list[Path]:
    """Delete what a failed or killed load left: staging files and data files without a
    manifest. Call only while holding the lock."""
    removed: list[Path] = []
    staging = raw_dir / STAGING
    if staging.is_dir():
        for child in staging.iterdir():
            if child.name == "duckdb_tmp":
                continue
            removed.append(child)
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    committed = committed_load_ids(raw_dir)
    for folder in raw_dir.iterdir() if raw_dir.is_dir() else ():
        if not folder.is_dir() or folder.name in (STAGING, MANIFEST, SCHEMAS):
            continue
        for path in folder.glob("*.parquet"):
            load_id = load_id_of(path)
            if load_id is not None and load_id not in committed:
                path.unlink()
                removed.append(path)
    return removed


@contextmanager
def locked(raw_dir: Path) -> Iterator[None]:
    """One loader at a time: a second one fails at once with a clear message."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    with (raw_dir / LOCK_FILE).open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise RawZoneLocked(
                f"{raw_dir}: another load is writing the raw zone ({holder}); wait for it to finish"
            ) from exc
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)
