"""Load landing files into the typed Parquet raw zone (see raw_zone.py), typed by the contract.

Guarantees, each covered by tests/test_load.py:

- Nothing is dropped silently. A record that cannot be parsed (malformed CSV line, bad
  encoding) or typed (a value that is not a valid integer/decimal/date/timestamp/boolean, or
  an empty value in a non-nullable column) goes to `raw._load_rejects` with file, line,
  column, reason and raw text. Every other record lands in `raw.<entity>`. Per file,
  rows_read = rows_loaded + rows_rejected in `raw._load_manifest`.
- A file missing a required column stops the whole load with a `LoadError` naming the file
  and the column, before anything is written. Extra columns are ignored with a warning.
- A file whose content (SHA-256) was loaded before is skipped: loading twice adds nothing.
- A load is atomic: its manifest, renamed into place last, is the commit. Readers only see
  rows of committed loads, and the next load removes what a failed or killed one left
  (raw_zone.py says how and why).
- Memory is bounded whatever the data size: each file is read by its own DuckDB with a
  memory limit, spilling to disk, and streamed into Parquet with COPY; no table passes
  through Python. SEGMENTATION_DUCKDB_MEMORY_LIMIT, SEGMENTATION_DUCKDB_THREADS and
  SEGMENTATION_DUCKDB_TEMP_DIRECTORY set its resources, as for every step.
- Column names from file headers are checked against the contract and always quoted as
  identifiers, never pasted into SQL as they are.

Business rules (allowed values, unknown references, duplicates) are not checked here: such
rows are valid data about a bad fact, so they land in `raw` and dbt quarantines them.

The loader uses DuckDB's readers and reject capture; what it writes is plain Parquet that
DuckDB, Spark and (by copy) PostgreSQL read (macros/raw_zone.sql).
"""

from __future__ import annotations

import csv
import errno
import gzip
import hashlib
import logging
import os
import re
import shutil
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from segmentation.ingest import raw_zone
from segmentation.ingest.contract import Column, Contract, Entity, load_contract
from segmentation.ingest.raw_zone import METADATA_COLUMNS

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".csv", ".csv.gz", ".parquet")
HEADER_READ_BYTES = 1 << 20
__all__ = ["METADATA_COLUMNS", "FileResult", "LoadError", "LoadReport", "landing_files", "load_landing"]
TRUE_WORDS = ("true", "t", "1", "yes", "y")
FALSE_WORDS = ("false", "f", "0", "no", "n")
ISO_8601_TIMESTAMP = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,9})?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?)?"
)


class LoadError(Exception):
    """A landing file cannot be loaded at all. The message names the file and the column."""


@dataclass
class FileResult:
    entity: str
    path: Path
    sha256: str
    status: str  # "loaded", "skipped" (content loaded before) or "ignored" (note says why)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    note: str = ""
    # Manifest fields of a loaded file.
    relative_path: str = ""
    file_bytes: int = 0
    file_format: str = ""
    ignored_columns: str | None = None


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
    raw_dir: Path,
    *,
    contract: Contract | None = None,
    progress: Callable[[str], None] | None = None,
) -> LoadReport:
    """Load every new landing file into the raw zone; one commit (the manifest) at the end."""
    contract = contract or load_contract()
    say = progress or log.info
    landing_dir = landing_dir.resolve()
    raw_dir = raw_dir.resolve()
    if not landing_dir.is_dir():
        raise LoadError(
            f"{landing_dir}: the landing folder does not exist "
            "(run `segmentation generate`, or point SEGMENTATION_LANDING_DIR at your files)"
        )

    report = LoadReport(load_id=uuid.uuid4().hex, loaded_at=datetime.now(UTC).replace(tzinfo=None))
    plan = _discover(landing_dir, contract, report)
    duck = raw_zone.DuckDBSettings.from_env(raw_dir)
    try:
        with raw_zone.locked(raw_dir):
            _load_locked(duck, landing_dir, raw_dir, contract, plan, report, say)
    except raw_zone.RawZoneLocked as exc:
        raise LoadError(str(exc)) from exc
    for warning in report.warnings:
        log.warning(warning)
    return report


def _load_locked(
    duck: raw_zone.DuckDBSettings,
    landing_dir: Path,
    raw_dir: Path,
    contract: Contract,
    plan: list[tuple[Entity, Path, str]],
    report: LoadReport,
    say: Callable[[str], None],
) -> None:
    for leftover in raw_zone.remove_uncommitted(raw_dir):
        log.info("removed %s, left by a load that did not commit", leftover)
    staging = raw_dir / raw_zone.STAGING / report.load_id
    staging.mkdir(parents=True)
    try:
        con = duck.connect()
        try:
            raw_zone.write_schema_files(con, raw_dir, staging, contract)
        finally:
            con.close()
        plan = _skip_known_content(raw_dir, plan, report, landing_dir)
        # Check every header before writing anything, so a bad file stops the load early.
        headers = {path: _header(path, entity, report) for entity, path, _ in plan}
        for number, (entity, path, sha256) in enumerate(plan):
            say(f"loading {path.relative_to(landing_dir)}")
            report.files.append(
                _load_file(duck, entity, path, sha256, headers[path], report, landing_dir, raw_dir, staging, number)
            )
        if any(f.status in ("loaded", "ignored") for f in report.files):
            _commit(duck, raw_dir, staging, report)
    except BaseException:
        # Nothing of this load is visible (it has no manifest); remove its files now.
        raw_zone.remove_uncommitted(raw_dir)
        raise
    shutil.rmtree(staging, ignore_errors=True)


def _commit(
    duck: raw_zone.DuckDBSettings, raw_dir: Path, staging: Path, report: LoadReport
) -> None:
    """Write the load's manifest, then rename it into place: the commit point."""
    columns = raw_zone.MANIFEST_COLUMNS
    temp = staging / f"{report.load_id}.parquet"
    con = duck.connect()
    try:
        con.execute(
            "CREATE TABLE manifest ("
            + ", ".join(f"{raw_zone.ident(n)} {t}" for n, t in columns)
            + ")"
        )
        con.executemany(
            f"INSERT INTO manifest VALUES ({', '.join('?' for _ in columns)})",
            [
                [
                    report.load_id, f.entity or None, f.relative_path, f.sha256 or None, f.file_bytes,
                    f.file_format or None, f.rows_read, f.rows_loaded, f.rows_rejected, f.ignored_columns,
                    report.loaded_at, f.status, f.note or None,
                ]
                for f in report.files
                if f.status in ("loaded", "ignored")
            ],
        )
        con.execute(f"COPY (SELECT * FROM manifest ORDER BY file_path) TO {raw_zone.literal(temp)} (FORMAT parquet)")
    finally:
        con.close()
    _fsync(temp)
    for folder in {raw_dir / f.entity for f in report.loaded_files} | {raw_dir / raw_zone.REJECTS}:
        _fsync(folder)  # the renames of this load's data files, before the commit
    target = raw_dir / raw_zone.MANIFEST / f"{report.load_id}.parquet"
    os.replace(temp, target)
    _fsync(target.parent)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _discover(
    landing_dir: Path, contract: Contract, report: LoadReport
) -> list[tuple[Entity, Path, str]]:
    """The files to load; every other entry of the landing folder is listed as ignored."""
    known = set(contract.names)
    for child in sorted(landing_dir.iterdir()):
        if not child.is_dir() or child.name not in known:
            _ignore(
                report, None, child, landing_dir,
                _link_problem(child) or f"not an entity folder of the contract ({', '.join(contract.names)})",
            )
    plan = []
    for entity in contract.entities:
        for path in _entity_files(landing_dir / entity.name, report, landing_dir):
            plan.append((entity, path, _sha256(path)))
    return plan


def _ignore(report: LoadReport, entity: str | None, path: Path, landing_dir: Path, reason: str) -> None:
    """Nothing is skipped without a word: a warning, and a manifest row with the reason."""
    report.warnings.append(f"{path}: {reason}; ignored")
    size = path.stat().st_size if path.is_file() else 0
    report.files.append(
        FileResult(
            entity or "", path, "", "ignored", note=reason,
            relative_path=str(path.relative_to(landing_dir)), file_bytes=size,
        )
    )


def _entity_files(folder: Path, report: LoadReport | None = None, landing_dir: Path | None = None) -> list[Path]:
    if not folder.is_dir():
        return []
    files = []
    for path in sorted(folder.iterdir()):
        reason = _why_not_loadable(path)
        if reason is not None:
            if report is not None and landing_dir is not None:
                _ignore(report, folder.name, path, landing_dir, reason)
            continue
        files.append(path)
    return files


def _why_not_loadable(path: Path) -> str | None:
    if path.name.startswith("."):
        return "hidden file (name starts with a dot)"
    link = _link_problem(path)
    if link is not None:
        return link
    if path.is_dir():
        return "a folder, not a file (entity folders are not searched recursively)"
    if not path.is_file():
        return "not a regular file"
    if not path.name.endswith(SUPPORTED_SUFFIXES):
        return f"unsupported file type (expected {', '.join(SUPPORTED_SUFFIXES)})"
    return None


def _link_problem(path: Path) -> str | None:
    """Why a symbolic link cannot be followed, or None (not a link, or a good one)."""
    if not path.is_symlink():
        return None
    try:
        path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop (the link leads back to itself); fix or remove the link"
        return f"broken symbolic link (its target {os.readlink(path)} does not exist); fix or remove the link"
    return None


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
    raw_dir: Path,
    plan: list[tuple[Entity, Path, str]],
    report: LoadReport,
    landing_dir: Path,
) -> list[tuple[Entity, Path, str]]:
    with raw_zone.connect(raw_dir) as con:
        seen = {
            sha: name
            for sha, name in con.execute(
                f"SELECT content_sha256, file_path FROM raw.{raw_zone.MANIFEST} WHERE status = 'loaded'"
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


def _header(path: Path, entity: Entity, report: LoadReport) -> list[str]:
    """The file's column names; raises LoadError when a required column is missing."""
    if path.name.endswith(".parquet"):
        try:
            names = [
                row[0]
                for row in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet({raw_zone.literal(path)})").fetchall()
            ]
        except duckdb.Error as exc:
            raise LoadError(f"{path}: not a readable Parquet file ({exc})") from exc
    else:
        if path.name.endswith(".gz"):
            _check_gzip(path)
        names = _csv_header(path)
    # An unnamed column (e.g. a trailing comma in the header) gets a positional name that no
    # contract column has, so it is an extra column like any other: ignored, with a warning.
    normalized = [name.strip().lower() or f"unnamed_column_{i}" for i, name in enumerate(names, start=1)]
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


def _check_gzip(path: Path) -> None:
    """Decompress the whole file: DuckDB reads a truncated gzip stream as a shorter file,
    which would lose its last rows without a word."""
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(1 << 22):
                pass
    except (OSError, EOFError, zlib.error) as exc:
        raise LoadError(
            f"{path}: the gzip stream is truncated or corrupt ({exc}); the file is rejected whole and "
            "nothing was loaded. Replace it with the complete file and load again."
        ) from exc


def _csv_header(path: Path) -> list[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            # A bounded read: a file with CR-only line endings has no b"\n" to stop readline.
            start = fh.read(HEADER_READ_BYTES)
    except (OSError, EOFError) as exc:
        raise LoadError(f"{path}: cannot be read ({exc})") from exc
    first_line = start.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n", 1)[0]
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
    duck: raw_zone.DuckDBSettings,
    entity: Entity,
    path: Path,
    sha256: str,
    header: list[str],
    report: LoadReport,
    landing_dir: Path,
    raw_dir: Path,
    staging: Path,
    number: int,
) -> FileResult:
    """Type one landing file into a Parquet file of rows and one of rejects, streaming.

    One pass over the file types every record into a scratch table (DuckDB spills it to
    disk past memory_limit), keeping the reasons and raw text of bad records only; the
    structural rejects of the CSV reader are then known, so the good rows are written with
    their line numbers, and the rejects next to them.
    """
    relative = str(path.relative_to(landing_dir))
    is_parquet = path.name.endswith(".parquet")
    try:
        return _type_file(duck, entity, path, sha256, header, report, relative, raw_dir, staging, number)
    except duckdb.Error as exc:
        raise LoadError(_unreadable(path, is_parquet, exc)) from exc


def _unreadable(path: Path, is_parquet: bool, exc: duckdb.Error) -> str:
    """What to tell about a file DuckDB's reader gave up on (not a bad record: those are rejects)."""
    mixed = None if is_parquet else _mixed_line_endings(path)
    if mixed is not None:
        line, ending, first = mixed
        return (
            f"{path}: line {line} ends with {ending} but line 1 with {first} (mixed line endings); "
            "the file is rejected whole and nothing was loaded. Convert it to one line ending "
            "(e.g. dos2unix) and load again."
        )
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"{path}: cannot be read as {'Parquet' if is_parquet else 'CSV'} ({reason}); nothing was loaded. "
        "Check the file against docs/data_contract.md and load again."
    )


_LINE_ENDINGS = {b"\r\n": "CRLF", b"\n": "LF", b"\r": "CR"}


def _mixed_line_endings(path: Path) -> tuple[int, str, str] | None:
    """(line, its ending, line 1's ending) of the first line that ends unlike line 1, if any.
    Read only after DuckDB failed, to say why; quoted line breaks count as lines here."""
    opener = gzip.open if path.name.endswith(".gz") else open
    first, line, carry = None, 1, b""
    try:
        with opener(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                block, carry = carry + block, b""
                if block.endswith(b"\r"):  # may be the first half of a CRLF
                    block, carry = block[:-1], b"\r"
                for match in re.finditer(rb"\r\n|\r|\n", block):
                    ending = _LINE_ENDINGS[match.group()]
                    first = first or ending
                    if ending != first:
                        return line, ending, first
                    line += 1
            if carry and first not in (None, "CR"):
                return line, "CR", first
    except (OSError, EOFError, zlib.error):
        return None
    return None


def _type_file(
    duck: raw_zone.DuckDBSettings,
    entity: Entity,
    path: Path,
    sha256: str,
    header: list[str],
    report: LoadReport,
    relative: str,
    raw_dir: Path,
    staging: Path,
    number: int,
) -> FileResult:
    is_parquet = path.name.endswith(".parquet")
    q = raw_zone.ident
    con = duck.connect()
    try:
        if is_parquet:
            source = (
                "SELECT file_row_number + 1 AS _record_index, "
                + ", ".join(
                    f"CAST({q(orig)} AS VARCHAR) AS {q(name)}"
                    for orig, name in zip(_parquet_names(path), header, strict=True)
                )
                + f" FROM read_parquet({raw_zone.literal(path)}, file_row_number = true)"
            )
        else:
            columns = "{" + ", ".join(f"{raw_zone.literal(name)}: 'VARCHAR'" for name in header) + "}"
            source = f"""
                SELECT row_number() OVER () AS _record_index, *
                FROM read_csv({raw_zone.literal(path)}, header = true, auto_detect = false, columns = {columns},
                              delim = ',', quote = '"', escape = '"', strict_mode = true,
                              store_rejects = true, rejects_table = '_rejects', rejects_scan = '_scans')
            """
        # Layers, so that each value is trimmed and cast once: cleaned -> typed -> flagged.
        present = [(i, col) for i, col in enumerate(entity.columns) if col.name in header]
        cleaned = ", ".join(f"nullif(trim({q(col.name)}), '') AS {_clean_name(i)}" for i, col in present)
        typed = ", ".join(f"{_cast(col, _clean_name(i))} AS {_typed_name(i)}" for i, col in present)
        conditions, reasons = _error_checks(entity, header)
        any_error = " OR ".join(conditions) or "false"
        typed_columns = ", ".join(
            (_typed_name(i) if col.name in header else f"CAST(NULL AS {col.sql_type})") + f" AS {q(col.name)}"
            for i, col in enumerate(entity.columns)
        )
        raw_text = "concat_ws(',', " + ", ".join(f"coalesce({q(n)}, '')" for n in header) + ")"
        con.execute(
            f"""
            CREATE TABLE _typed AS
            WITH source AS ({source}),
            cleaned AS (SELECT *{", " + cleaned if cleaned else ""} FROM source),
            typed AS (SELECT *{", " + typed if typed else ""} FROM cleaned),
            flagged AS (SELECT *, {any_error} AS _segmentation_bad FROM typed)
            SELECT {typed_columns}, _record_index,
                   CASE WHEN _segmentation_bad
                        THEN list_filter([{", ".join(reasons)}], e -> e IS NOT NULL) END AS _errors,
                   CASE WHEN _segmentation_bad THEN {raw_text} END AS _raw_text
            FROM flagged
            """
        )
        if is_parquet:
            structural: list[tuple] = []
            line_expr = "_record_index"
        else:
            structural = con.execute(
                "SELECT line, column_name, error_type, csv_line, error_message FROM _rejects ORDER BY line"
            ).fetchall()
            line_expr = _csv_line_expression(sorted({row[0] for row in structural}))

        data_name = f"{report.load_id}_{number}.parquet"
        names = ", ".join(q(c.name) for c in entity.columns)
        params = [report.load_id, relative, report.loaded_at]
        (loaded,) = con.execute(
            f"""COPY (SELECT {names}, ?::VARCHAR AS _load_id, ?::VARCHAR AS _source_file,
                             {line_expr} AS _source_line_number, ?::TIMESTAMP AS _loaded_at
                      FROM _typed WHERE _errors IS NULL)
                TO {raw_zone.literal(staging / data_name)} (FORMAT parquet)""",
            params,
        ).fetchone()
        con.execute(
            """CREATE TABLE _file_rejects AS
               SELECT _line AS line_number, e.column_name, e.reason, e.raw_value, _raw_text AS raw_text
               FROM (SELECT """ + line_expr + """ AS _line, _raw_text, unnest(_errors) AS e
                     FROM _typed WHERE _errors IS NOT NULL)"""
        )
        for line, column_name, error_type, csv_line, message in structural:
            con.execute(
                "INSERT INTO _file_rejects VALUES (?, ?, ?, NULL, ?)",
                [line, column_name, f"malformed_line: {str(error_type).lower()} ({message})", csv_line],
            )
        (type_rejected,) = con.execute("SELECT count(*) FROM _typed WHERE _errors IS NOT NULL").fetchone()
        rejected = type_rejected + len({row[0] for row in structural})
        if rejected:
            con.execute(
                f"""COPY (SELECT ?::VARCHAR AS load_id, ?::VARCHAR AS entity, ?::VARCHAR AS file_path,
                                 line_number, column_name, reason, raw_value, raw_text,
                                 ?::TIMESTAMP AS rejected_at
                          FROM _file_rejects ORDER BY line_number, column_name)
                    TO {raw_zone.literal(staging / ("rejects_" + data_name))} (FORMAT parquet)""",
                [report.load_id, entity.name, relative, report.loaded_at],
            )
    finally:
        con.close()
    # Complete, durable files only ever appear in the entity folders (invisible until the
    # manifest commits; synced first, so the manifest never outlives them after a power cut).
    _fsync(staging / data_name)
    os.replace(staging / data_name, raw_dir / entity.name / data_name)
    if rejected:
        _fsync(staging / ("rejects_" + data_name))
        os.replace(staging / ("rejects_" + data_name), raw_dir / raw_zone.REJECTS / data_name)
        report.warnings.append(f"{path}: {rejected} row(s) rejected; see raw._load_rejects")
    extra = [n for n in header if n not in {c.name for c in entity.columns}]
    return FileResult(
        entity.name, path, sha256, "loaded",
        rows_read=loaded + rejected,
        rows_loaded=loaded,
        rows_rejected=rejected,
        relative_path=relative,
        file_bytes=path.stat().st_size,
        file_format="parquet" if is_parquet else "csv",
        ignored_columns=",".join(extra) or None,
    )


def _parquet_names(path: Path) -> list[str]:
    return [
        row[0]
        for row in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet({raw_zone.literal(path)})").fetchall()
    ]


def _csv_line_expression(rejected_lines: list[int]) -> str:
    """Line number (header = 1) of the r-th parsed record, given the rejected records' lines.

    DuckDB numbers records, not physical lines, in its reject table; we do the same. Good
    record r sits after every rejected line R_i (i = 1..k, sorted) with R_i - i <= r.
    """
    if not rejected_lines:
        return "_record_index + 1"
    thresholds = ", ".join(str(line - i) for i, line in enumerate(rejected_lines, start=1))
    return f"_record_index + 1 + len(list_filter([{thresholds}], t -> t <= _record_index))"


def _clean_name(index: int) -> str:
    # Positional names: a header can hold any text, so no name derived from it is safe.
    return f"_segmentation_clean_{index}"


def _typed_name(index: int) -> str:
    return f"_segmentation_typed_{index}"


def _cast(col: Column, value: str) -> str:
    """The typed value of `value` (a trimmed, non-empty text or NULL); NULL when it does not type."""
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
        # ISO-8601 only: a date, or a date and time, with an optional offset (`Z`, `+02:00`),
        # converted to UTC; a value without one is read as UTC (the session time zone is UTC).
        # DuckDB's cast would also take zone names (`EST`, `Europe/Berlin`): the contract does not.
        return (
            f"CASE WHEN regexp_full_match({value}, '{ISO_8601_TIMESTAMP}') "
            f"THEN timezone('UTC', try_cast({value} AS TIMESTAMPTZ)) END"
        )
    return f"try_cast({value} AS {col.sql_type})"


def _error_checks(entity: Entity, header: list[str]) -> tuple[list[str], list[str]]:
    """Per check: the condition that a record breaks it (over the cleaned and typed columns),
    and the reject struct it gives."""
    conditions, reasons = [], []
    for index, col in enumerate(entity.columns):
        present = col.name in header
        name = raw_zone.literal(col.name)
        clean, typed = _clean_name(index), _typed_name(index)
        if present:
            condition = f"({clean} IS NOT NULL AND {typed} IS NULL)"
            conditions.append(condition)
            reasons.append(
                f"CASE WHEN {condition} THEN {{'column_name': {name}, 'reason': 'invalid_{col.type}', "
                f"'raw_value': {raw_zone.ident(col.name)}}} END"
            )
        if not col.nullable:
            condition = f"({clean} IS NULL)" if present else "true"
            conditions.append(condition)
            reasons.append(
                f"CASE WHEN {condition} THEN {{'column_name': {name}, 'reason': 'missing_value', "
                "'raw_value': NULL::VARCHAR} END"
            )
    return conditions, reasons


def summarize_raw(raw_dir: Path, entities: Iterable[str]) -> dict[str, int]:
    """Row counts of the committed raw-zone tables."""
    with raw_zone.connect(raw_dir) as con:
        return {
            name: con.execute(f"SELECT count(*) FROM raw.{raw_zone.ident(name)}").fetchone()[0]
            for name in entities
        }
