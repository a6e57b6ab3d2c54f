"""Parquet export of the BI-facing marts, partitioned by review, swapped in atomically.

For BI tools and engines that read Parquet rather than DuckDB files (Spark, Trino, pandas,
Power BI's Parquet connector). The export is read from the *published* file, never the
working warehouse, so it can run while dbt is building: it only ever shows checked data.

Layout under `export_root` (default `data/published/parquet`):

    versions/<UTC timestamp>/<table>/<partition column>=<value>/data_0.parquet
    versions/<UTC timestamp>/<table>.csv          (CSV_TABLES only: the operational hand-off)
    current -> versions/<UTC timestamp>        (a symlink, replaced atomically)

Readers point at `current/<table>/**/*.parquet` (hive partitioning). A new export is
written to a new version directory and only then is `current` switched, with a rename,
so a reader sees the old export or the new one, never a half-written one. Each table is
one `COPY (SELECT ...) TO` that DuckDB streams to Parquet: memory stays bounded by
`segmentation.config.duckdb_settings()` whatever the table size. As many files as DuckDB has
threads are written at once (each on its own cursor): one COPY keeps little more than one core
busy. The newest
`KEEP_VERSIONS` versions are kept so a query that started on the previous export can finish.
The staging folder of an export that was killed is removed by the next export.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from segmentation.config import duckdb_settings
from segmentation.publish.leftovers import remove_leftovers
from segmentation.publish.side_by_side import duckdb_workers, map_on_cursors

log = logging.getLogger(__name__)

# BI-facing marts and the column that identifies their review (None: not partitioned).
# Facts (fct_*), audit tables and the time spine are not part of the export.
EXPORTED_TABLES: dict[str, str | None] = {
    "dim_customer_segments": "review_date",
    "customer_segment_memberships": "review_date",
    "customer_service_assignment": "review_date",
    "customer_next_best_actions": "review_date",
    "segment_economics": "review_date",
    "customer_profitability": "review_date",
    "customer_lifetime_profitability": "review_date",
    "whale_curve": "review_date",
    "profit_concentration": "review_date",
    "customer_clv": "review_date",
    "customer_clv_horizons": "review_date",
    "clv_model_fit": "review_date",
    "clv_holdout_validation": "review_date",
    "segment_review_history": "review_id",
    "segment_migrations": "to_review_id",
    "segment_movers": "to_review_id",
    "segment_reviews": None,
    "customer_service_handoff": "review_id",
    "customer_entitlement_gaps": "review_date",
    "segment_attach_rates": "review_id",
    "policy_scenarios": "review_date",
    "policy_scenario_impacts": "review_date",
    "policy_scenario_customers": "review_date",
}
# Tables also written as one CSV file (header row, UTF-8, comma) for contact-center and CRM
# imports that do not read Parquet.
CSV_TABLES = ("customer_service_handoff",)
# The CSV's row order: the columns up to the table's unique key (customer_id, dbt-tested
# unique), so the order equals ORDER BY ALL's without sorting by all 26 columns.
CSV_ORDER = {"customer_service_handoff": "review_id, review_type, review_date, customer_id"}
KEEP_VERSIONS = 2


class ExportError(RuntimeError):
    """The export could not be written; `current` still points at the previous export."""


@dataclass(frozen=True)
class ExportResult:
    export_root: Path
    version_dir: Path
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows
    files: int = 0
    seconds: float = 0.0

    @property
    def current(self) -> Path:
        return self.export_root / "current"

    def summary(self) -> str:
        return (
            f"exported {len(self.tables)} marts ({sum(self.tables.values()):,} rows, {self.files} Parquet "
            f"files, partitioned by review) to {self.current} in {self.seconds:.1f}s"
        )


def export_parquet(published_path: Path, export_root: Path | None = None) -> ExportResult:
    """Write every table of EXPORTED_TABLES from the published file as partitioned Parquet."""
    started = time.monotonic()
    published_path = Path(published_path).resolve()
    export_root = (Path(export_root) if export_root is not None else published_path.parent / "parquet").resolve()
    if not published_path.is_file():
        raise ExportError(f"{published_path}: no published warehouse to export; publish first")
    versions = export_root / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    for leftover in [*remove_leftovers(versions, "."), *remove_leftovers(export_root, ".current.tmp-")]:
        log.info("removed %s, left by an export that did not finish", leftover)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    version_dir = versions / stamp
    staging = versions / f".{stamp}.tmp-{os.getpid()}"
    tables: dict[str, int] = {}
    try:
        staging.mkdir()
        con = duckdb.connect(
            str(published_path),
            read_only=True,
            config={**duckdb_settings(), "temp_directory": str(staging / ".spill")},
        )
        try:
            present = {row[0] for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
            ).fetchall()}
            missing = sorted(set(EXPORTED_TABLES) - present)
            if missing:
                raise ExportError(f"{published_path} has no marts.{', marts.'.join(missing)}; rebuild and publish")
            copies = {table: _copy_statement(con, table, partition_column, staging, tables)
                      for table, partition_column in EXPORTED_TABLES.items()}
            # The largest first, so the last file written is a small one.
            statements = [copies[table] for table in sorted(copies, key=lambda table: -tables[table])]
            statements += [
                f"COPY (SELECT * FROM marts.{table} ORDER BY {CSV_ORDER[table]}) "
                f"TO {_literal(str(staging / f'{table}.csv'))} (FORMAT CSV, HEADER)"
                for table in CSV_TABLES
            ]
            # Files side by side (side_by_side.py): independent files in the staging folder.
            map_on_cursors(con, statements, lambda cursor, statement: cursor.execute(statement),
                           workers=duckdb_workers(), name="export")
        finally:
            con.close()
            shutil.rmtree(staging / ".spill", ignore_errors=True)
        staging.rename(version_dir)
        _point_current_at(export_root, version_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _prune(versions, keep=KEEP_VERSIONS, protect=version_dir)
    files = sum(1 for _ in version_dir.rglob("*.parquet"))
    return ExportResult(export_root, version_dir, tables, files, time.monotonic() - started)


def _copy_statement(
    con: duckdb.DuckDBPyConnection, table: str, partition_column: str | None, staging: Path,
    tables: dict[str, int],
) -> str:
    """The `COPY ... TO` of one table (its row count goes into `tables`)."""
    rows = con.execute(f"SELECT count(*) FROM marts.{table}").fetchone()[0]
    tables[table] = rows
    target = staging / table
    options = "FORMAT PARQUET"
    if partition_column and rows:
        options += f", PARTITION_BY ({partition_column})"
    else:
        # Not partitioned, or empty (e.g. no migrations before the second review):
        # one file, so readers still find the table and its columns.
        target.mkdir(parents=True)
        target = target / "data_0.parquet"
    return f"COPY (SELECT * FROM marts.{table}) TO {_literal(str(target))} ({options})"


def _point_current_at(export_root: Path, version_dir: Path) -> None:
    """Switch `current` to `version_dir` with one rename (atomic on POSIX)."""
    link = export_root / "current"
    if link.exists() and not link.is_symlink():
        raise ExportError(f"{link} exists and is not a symlink; move it away")
    temporary = export_root / f".current.tmp-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(version_dir.relative_to(export_root), target_is_directory=True)
    os.replace(temporary, link)


def _prune(versions: Path, *, keep: int, protect: Path) -> None:
    finished = sorted(p for p in versions.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in finished[:-keep]:
        if old != protect:
            shutil.rmtree(old, ignore_errors=True)


def _literal(value: str) -> str:
    """A path as an SQL string literal (a data folder may have a quote in its name)."""
    return "'" + value.replace("'", "''") + "'"
