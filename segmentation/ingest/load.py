"""Load landing files into the warehouse's `raw` schema, typed by the contract.

Guarantees, each covered by tests/test_load.py:

- Nothing is dropped silently. A record that cannot be parsed (malformed CSV line, bad
  encoding) or typed (a value that is not a valid integer/decimal/date/timestamp/boolean, or
  an empty value in a non-nullable column) goes to `raw._load_rejects` with file, line,
  column, reason and raw text. Every other record lands in `raw.<entity>`. Per file,
  rows_read = rows_loaded + rows_rejected in `raw._load_manifest`.
- A file missing a required column stops the whole load with a `LoadError` naming the file
  and the column. Extra columns are ignored with a warning.
- A file whose content (SHA-256) was loaded before is skipped: loading twice adds nothing.
- One load is one transaction: if anything fails, the database is left as it was.

Business rules (allowed values, unknown references, duplicates) are not checked here: such
rows are valid data about a bad fact, so they land in `raw` and dbt quarantines them.

The loader is DuckDB-specific on purpose (it uses DuckDB's readers and reject capture);
everything downstream of `raw` is portable dbt SQL.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import logging
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from segmentation.ingest.contract import Column, Contract, Entity, load_contract

log = logging.getLogger(__name__)

RAW_SCHEMA = "raw"
SUPPORTED_SUFFIXES = (".csv", ".csv.gz", ".parquet")
METADATA_COLUMNS = (
    ("_load_id", "VARCHAR"),
    ("_source_file", "VARCHAR"),
    ("_source_line_number", "BIGINT"),
    ("_loaded_at", "TIMESTAMP"),
)
TRUE_WORDS = ("true", "t", "1", "yes", "y")
FALSE_WORDS = ("false", "f", "0", "no", "n")


class LoadError(Exception):
    """A landing file cannot be loaded at all. The message names the file and the column."""


@dataclass
class FileResult:
    entity: str
    path: Path
    sha256: str
    status: str  # "loaded" or "skipped"
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    note: str = ""


@dataclass
class LoadReport:
    load_id: str
    loaded_at: datetime
    files: list[FileResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def rows(self, attribute: str) -> dict[str, int]:
        totals: dict[str, int] = {}
        for result in self.files:
            totals[result.entity] = totals.get(result.entity, 0) + getattr(result, attribute)
        return totals

    @property
    def loaded_files(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "loaded"]


def load_landing(
    landing_dir: Path,
    warehouse_path: Path,
    *,
    contract: Contract | None = None,
    progress: Callable[[str], None] | None = None,
) -> LoadReport:
    """Load every new landing file into `raw`, in one transaction."""
    contract = contract or load_contract()
    say = progress or log.info
    landing_dir = landing_dir.resolve()
    if not landing_dir.is_dir():
        raise LoadError(
            f"{landing_dir}: the landing folder does not exist "
            "(run `segmentation generate`, or point SEGMENTATION_LANDING_DIR at your files)"
        )

    report = LoadReport(load_id=uuid.uuid4().hex, loaded_at=datetime.now(UTC).replace(tzinfo=None))
    plan = _discover(landing_dir, contract, report)

    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(warehouse_path))
    try:
        con.execute("SET TimeZone = 'UTC'")
        _ensure_schema(con, contract)
        plan = _skip_known_content(con, plan, report, landing_dir)
        # Check every header before writing anything, so a bad file stops the load early.
        headers = {path: _header(path, entity, report) for entity, path, _ in plan}
        con.begin()
        try:
            for entity, path, sha256 in plan:
                say(f"loading {path.relative_to(landing_dir)}")
                result = _load_file(
                    con, entity, path, sha256, headers[path], report, landing_dir
                )
                report.files.append(result)
            con.commit()
        except BaseException:
            con.rollback()
            raise
        con.execute("CHECKPOINT")
    finally:
        con.close()
    for warning in report.warnings:
        log.warning(warning)
    return report


def _discover(
    landing_dir: Path, contract: Contract, report: LoadReport
) -> list[tuple[Entity, Path, str]]:
    known = set(contract.names)
    for child in sorted(landing_dir.iterdir()):
        if child.name.startswith("."):
            continue
        if not child.is_dir() or child.name not in known:
            report.warnings.append(
                f"{child}: not an entity folder of the contract ({', '.join(contract.names)}); ignored"
            )
    plan = []
    for entity in contract.entities:
        for path in _entity_files(landing_dir / entity.name, report):
            plan.append((entity, path, _sha256(path)))
    return plan


def _entity_files(folder: Path, report: LoadReport | None = None) -> list[Path]:
    if not folder.is_dir():
        return []
    files = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if not path.name.endswith(SUPPORTED_SUFFIXES):
            if report is not None:
                report.warnings.append(
                    f"{path}: unsupported file type (expected {', '.join(SUPPORTED_SUFFIXES)}); ignored"
                )
            continue
        files.append(path)
    return files


def landing_files(landing_dir: Path, contract: Contract | None = None) -> list[tuple[Path, os.stat_result]]:
    """Every loadable landing file with its stat (for sensors: cheap, no hashing)."""
    contract = contract or load_contract()
    return [
        (path, path.stat())
        for entity in contract.entities
        for path in _entity_files(landing_dir / entity.name)
    ]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _skip_known_content(
    con: duckdb.DuckDBPyConnection,
    plan: list[tuple[Entity, Path, str]],
    report: LoadReport,
    landing_dir: Path,
) -> list[tuple[Entity, Path, str]]:
    seen = {
        sha: name
        for sha, name in con.execute(
            f"SELECT content_sha256, file_path FROM {RAW_SCHEMA}._load_manifest"
        ).fetchall()
    }
    kept = []
    for entity, path, sha256 in plan:
        if sha256 in seen:
            report.files.append(
                FileResult(entity.name, path, sha256, "skipped", note=f"same content as {seen[sha256]}, loaded before")
            )
            continue
        seen[sha256] = str(path.relative_to(landing_dir))
        kept.append((entity, path, sha256))
    return kept


def _ensure_schema(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    con.execute(
        f"""
        CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}._load_manifest (
            load_id VARCHAR, entity VARCHAR, file_path VARCHAR, content_sha256 VARCHAR,
            file_bytes BIGINT, file_format VARCHAR, rows_read BIGINT, rows_loaded BIGINT,
            rows_rejected BIGINT, ignored_columns VARCHAR, loaded_at TIMESTAMP
        )"""
    )
    con.execute(
        f"""
        CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}._load_rejects (
            load_id VARCHAR, entity VARCHAR, file_path VARCHAR, line_number BIGINT,
            column_name VARCHAR, reason VARCHAR, raw_value VARCHAR, raw_text VARCHAR,
            rejected_at TIMESTAMP
        )"""
    )
    for entity in contract.entities:
        columns = [(c.name, c.sql_type) for c in entity.columns] + list(METADATA_COLUMNS)
        ddl = ", ".join(f'"{name}" {sql_type}' for name, sql_type in columns)
        con.execute(f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{entity.name} ({ddl})")
        # A column added to the contract later is added to the existing raw table.
        existing = {
            row[0]
            for row in con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ?",
                [RAW_SCHEMA, entity.name],
            ).fetchall()
        }
        for name, sql_type in columns:
            if name not in existing:
                con.execute(f'ALTER TABLE {RAW_SCHEMA}.{entity.name} ADD COLUMN "{name}" {sql_type}')


def _header(path: Path, entity: Entity, report: LoadReport) -> list[str]:
    """The file's column names; raises LoadError when a required column is missing."""
    if path.name.endswith(".parquet"):
        try:
            names = [
                row[0]
                for row in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet({_quote(path)})").fetchall()
            ]
        except duckdb.Error as exc:
            raise LoadError(f"{path}: not a readable Parquet file ({exc})") from exc
    else:
        names = _csv_header(path)
    normalized = [name.strip().lower() for name in names]
    duplicates = sorted({n for n in normalized if normalized.count(n) > 1})
    if duplicates:
        raise LoadError(f"{path}: column {duplicates[0]!r} appears more than once in the header")
    missing = [c for c in entity.required_columns if c not in normalized]
    if missing:
        hint = ""
        if len(normalized) == 1 and any(sep in normalized[0] for sep in ";\t|"):
            hint = " The header has a single column: is the file delimited by ',' as the contract requires?"
        raise LoadError(
            f"{path}: missing required column {missing[0]!r}"
            + (f" (and {', '.join(repr(m) for m in missing[1:])})" if len(missing) > 1 else "")
            + f" for entity {entity.name}; the header has {', '.join(normalized)}.{hint}"
            " See docs/data_contract.md."
        )
    contract_names = {c.name for c in entity.columns}
    extra = [n for n in normalized if n not in contract_names]
    if extra:
        report.warnings.append(f"{path}: extra column(s) {', '.join(extra)} not in the contract; ignored")
    return normalized


def _csv_header(path: Path) -> list[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            first_line = fh.readline()
    except (OSError, EOFError) as exc:
        raise LoadError(f"{path}: cannot be read ({exc})") from exc
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadError(
            f"{path}: line 1 (header) is not UTF-8 text ({exc.reason}); the contract requires UTF-8"
        ) from exc
    first = next(csv.reader([text]), None)
    if not first or all(not cell.strip() for cell in first):
        raise LoadError(f"{path}: the file is empty; expected a header row on line 1")
    return first


def _load_file(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    path: Path,
    sha256: str,
    header: list[str],
    report: LoadReport,
    landing_dir: Path,
) -> FileResult:
    relative = str(path.relative_to(landing_dir))
    is_parquet = path.name.endswith(".parquet")
    rejects_table, scans_table = f"_rejects_{uuid.uuid4().hex}", f"_scans_{uuid.uuid4().hex}"
    if is_parquet:
        source = (
            "(SELECT *, file_row_number + 1 AS _record_index "
            f"FROM read_parquet({_quote(path)}, file_row_number = true))"
        )
        select_list = ", ".join(
            f'CAST("{orig}" AS VARCHAR) AS "{name}"' for orig, name in zip(_parquet_names(path), header, strict=True)
        )
        con.execute(f"CREATE OR REPLACE TEMP TABLE _parsed AS SELECT _record_index, {select_list} FROM {source}")
        structural: list[tuple] = []
        line_expr = "_record_index"
    else:
        columns = "{" + ", ".join(f"'{name}': 'VARCHAR'" for name in header) + "}"
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _parsed AS
            SELECT row_number() OVER () AS _record_index, *
            FROM read_csv({_quote(path)}, header = true, auto_detect = false, columns = {columns},
                          delim = ',', quote = '"', escape = '"', strict_mode = true,
                          store_rejects = true, rejects_table = '{rejects_table}',
                          rejects_scan = '{scans_table}')
            """
        )
        structural = con.execute(
            f"""SELECT line, column_name, error_type, csv_line, error_message
                FROM {rejects_table} ORDER BY line"""
        ).fetchall()
        line_expr = _csv_line_expression(sorted({row[0] for row in structural}))

    typed_columns = [_typed_expression(col, col.name in header) for col in entity.columns]
    errors = ", ".join(_error_checks(col, col.name in header) for col in entity.columns)
    raw_text = "concat_ws(',', " + ", ".join(f"coalesce(\"{n}\", '')" for n in header) + ")"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _typed AS
        WITH parsed AS (SELECT *, {line_expr} AS _line FROM _parsed)
        SELECT {", ".join(typed_columns)}, _line,
               list_filter([{errors}], e -> e IS NOT NULL) AS _errors,
               {raw_text} AS _raw_text
        FROM parsed
        """
    )
    names = ", ".join(f'"{c.name}"' for c in entity.columns)
    meta = "_load_id, _source_file, _source_line_number, _loaded_at"
    con.execute(
        f"""INSERT INTO {RAW_SCHEMA}.{entity.name} ({names}, {meta})
            SELECT {names}, ?, ?, _line, ? FROM _typed WHERE len(_errors) = 0 ORDER BY _line""",
        [report.load_id, relative, report.loaded_at],
    )
    con.execute(
        f"""INSERT INTO {RAW_SCHEMA}._load_rejects
            SELECT ?, ?, ?, _line, e.column_name, e.reason, e.raw_value, _raw_text, ?
            FROM (SELECT _line, _raw_text, unnest(_errors) AS e FROM _typed WHERE len(_errors) > 0)
            ORDER BY _line, e.column_name""",
        [report.load_id, entity.name, relative, report.loaded_at],
    )
    for line, column_name, error_type, csv_line, message in structural:
        con.execute(
            f"INSERT INTO {RAW_SCHEMA}._load_rejects VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)",
            [
                report.load_id,
                entity.name,
                relative,
                line,
                column_name,
                f"malformed_line: {str(error_type).lower()} ({message})",
                csv_line,
                report.loaded_at,
            ],
        )
    (parsed_rows, loaded, type_rejected) = con.execute(
        "SELECT count(*), count(*) FILTER (len(_errors) = 0), count(*) FILTER (len(_errors) > 0) FROM _typed"
    ).fetchone()
    rejected = type_rejected + len({row[0] for row in structural})
    extra = [n for n in header if n not in {c.name for c in entity.columns}]
    con.execute(
        f"INSERT INTO {RAW_SCHEMA}._load_manifest VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            report.load_id,
            entity.name,
            relative,
            sha256,
            path.stat().st_size,
            "parquet" if is_parquet else "csv",
            parsed_rows + len({row[0] for row in structural}),
            loaded,
            rejected,
            ",".join(extra) or None,
            report.loaded_at,
        ],
    )
    for table in ("_parsed", "_typed"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    if rejected:
        report.warnings.append(f"{path}: {rejected} row(s) rejected; see raw._load_rejects")
    return FileResult(
        entity.name, path, sha256, "loaded",
        rows_read=parsed_rows + len({row[0] for row in structural}),
        rows_loaded=loaded,
        rows_rejected=rejected,
    )


def _parquet_names(path: Path) -> list[str]:
    return [row[0] for row in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet({_quote(path)})").fetchall()]


def _csv_line_expression(rejected_lines: list[int]) -> str:
    """Line number (header = 1) of the r-th parsed record, given the rejected records' lines.

    DuckDB numbers records, not physical lines, in its reject table; we do the same. Good
    record r sits after every rejected line R_i (i = 1..k, sorted) with R_i - i <= r.
    """
    if not rejected_lines:
        return "_record_index + 1"
    thresholds = ", ".join(str(line - i) for i, line in enumerate(rejected_lines, start=1))
    return f"_record_index + 1 + len(list_filter([{thresholds}], t -> t <= _record_index))"


def _typed_expression(col: Column, present: bool) -> str:
    if not present:
        return f'CAST(NULL AS {col.sql_type}) AS "{col.name}"'
    return f'{_cast(col)} AS "{col.name}"'


def _clean(col: Column) -> str:
    return f"nullif(trim(\"{col.name}\"), '')"


def _cast(col: Column) -> str:
    value = _clean(col)
    if col.type == "varchar":
        return value
    if col.type == "boolean":
        true_words = ", ".join(f"'{w}'" for w in TRUE_WORDS)
        false_words = ", ".join(f"'{w}'" for w in FALSE_WORDS)
        return (
            f"CASE WHEN lower({value}) IN ({true_words}) THEN true "
            f"WHEN lower({value}) IN ({false_words}) THEN false END"
        )
    if col.type == "integer":
        # try_cast alone would round '2.5' to 3 and accept '0x10' or '1e3': only digits pass.
        return f"CASE WHEN regexp_full_match({value}, '[+-]?[0-9]+') THEN try_cast({value} AS BIGINT) END"
    if col.type == "timestamp":
        # Values with an offset are converted to UTC; values without one are read as UTC
        # (the session time zone is UTC).
        return f"timezone('UTC', try_cast({value} AS TIMESTAMPTZ))"
    return f"try_cast({value} AS {col.sql_type})"


def _error_checks(col: Column, present: bool) -> str:
    """List elements: a struct naming the column and reason, or NULL when the value is fine."""
    checks = []
    if present:
        checks.append(
            f"CASE WHEN {_clean(col)} IS NOT NULL AND {_cast(col)} IS NULL "
            f"THEN {{'column_name': '{col.name}', 'reason': 'invalid_{col.type}', 'raw_value': \"{col.name}\"}} END"
        )
    if not col.nullable:
        value = _clean(col) if present else "NULL"
        checks.append(
            f"CASE WHEN {value} IS NULL "
            f"THEN {{'column_name': '{col.name}', 'reason': 'missing_value', 'raw_value': NULL}} END"
        )
    return ", ".join(checks) if checks else "NULL"


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def summarize_raw(warehouse_path: Path, entities: Iterable[str]) -> dict[str, int]:
    """Row counts of the raw tables (read-only)."""
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        return {
            name: con.execute(f"SELECT count(*) FROM {RAW_SCHEMA}.{name}").fetchone()[0]
            for name in entities
        }
    finally:
        con.close()
