"""`make portability`: the same dbt models on DuckDB, Spark and PostgreSQL, marts compared row for row.

1. DuckDB: generate the sample, `segmentation load`, then the same two dbt builds as
   `segmentation run` (the review of 12 months ago, then everything).
2. The raw tables: Spark reads the loader's typed Parquet raw zone itself (DuckDB's, the same
   landing files loaded once; dbt's on-run-start registers it, macros/raw_zone.sql).
   PostgreSQL gets DuckDB's `raw` schema as Parquet, copied in with COPY (`put_tables`) until
   the raw zone is wired for it.
3. The CLV outputs come from dbt Python models that run on DuckDB only (dbt-spark runs Python
   models only on Databricks, dbt-postgres not at all). Until the pipeline has its own CLV step,
   DuckDB's CLV tables are COPIED to the other engines as tables, the ones of each build before
   that build, and dbt builds everything else.
4. On each engine, the same two dbt builds, each after its CLV tables are in place.
5. On Spark, as `segmentation run` does after dbt: the GX gate (Spark execution engine) and
   publish (a new `published_v<time>` database, the views of `published` switched to it).
6. Every BI mart (schemas marts and audit) is compared with DuckDB's: on Spark as BI reads it
   (the `published` views), elsewhere the built tables; ordered rows, numbers rounded to 6
   places. One verdict per mart; exit 1 if any differs.

Run one engine at a time (the machine is small); Spark runs in this process (dbt-spark session).
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
ENGINES = ("spark", "postgres")
# dbt Python models (DuckDB only): their tables are copied from DuckDB, not built.
PYTHON_MODELS = {
    "int_customer_clv_predicted": "intermediate",
    "clv_model_fit": "marts",
    "clv_holdout_validation": "marts",
}
# Same as `segmentation run`: first the review of 12 months ago, then the full build.
PREVIOUS_REVIEW_SELECT = ["+segment_movers", "+segment_migrations"]
PREVIOUS_REVIEW_MONTHS = 12
# Compared marts are the published ones (BI reads only these schemas).
COMPARED_SCHEMAS = ("marts", "audit")
DECIMALS = 6


@dataclass
class EngineRun:
    engine: str
    seconds: dict[str, float] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Spark binds to loopback only (no warning about the host name resolving elsewhere).
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    root = Path(args.data_dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    # dbt's artifacts of these builds (a Spark or PostgreSQL manifest) stay out of the project's
    # target/, whose manifest.json Dagster loads the DuckDB assets from.
    os.environ["DBT_TARGET_PATH"] = str(root / "dbt_target")
    duckdb_dir = root / "duckdb"
    warehouse = duckdb_dir / "warehouse.duckdb"
    parquet_dir = root / "parquet"
    if args.rebuild or not (parquet_dir / "done").exists():
        _say(f"DuckDB: sample of {args.customers} customers, load, both builds in {duckdb_dir}")
        shutil.rmtree(duckdb_dir, ignore_errors=True)
        shutil.rmtree(parquet_dir, ignore_errors=True)
        _duckdb_build(duckdb_dir, args.customers, parquet_dir)
        (parquet_dir / "done").touch()
    else:
        _say(f"DuckDB: reusing {warehouse} (--rebuild to rebuild)")

    reference = _read_marts_duckdb(warehouse)
    verdicts: dict[str, dict[str, str]] = {}
    runs: list[EngineRun] = []
    for engine in args.engines:
        os.environ["SEGMENTATION_DATA_DIR"] = str(root / engine)
        os.environ["SEGMENTATION_DBT_TARGET"] = engine
        run = EngineRun(engine)
        runs.append(run)
        if engine == "postgres":
            _postgres_server("start")
        try:
            if engine == "spark":
                # The raw zone that DuckDB's run loaded: Spark registers it itself (on-run-start).
                os.environ["SEGMENTATION_RAW_DIR"] = str(duckdb_dir / "raw")
                _say(f"{engine}: raw zone {duckdb_dir / 'raw'} (registered by dbt's on-run-start)")
            else:
                _say(f"{engine}: raw tables from {parquet_dir / 'raw'}")
                started = time.perf_counter()
                put_tables(engine, parquet_dir / "raw")
                run.seconds["load raw"] = time.perf_counter() - started
            _dbt_builds(run, parquet_dir, args.dbt_args)
            if engine == "spark":
                _spark_gate_and_publish(run)
            marts = _read_marts(engine, reference)
            verdicts[engine] = compare(reference, marts)
        finally:
            if engine == "postgres" and not args.keep_postgres:
                _postgres_server("stop")
    return _report(verdicts, runs, root)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--data-dir", default=str(PROJECT_DIR / "data" / "portability"),
                        help="state of every engine: <dir>/duckdb, <dir>/spark, <dir>/postgres, <dir>/parquet")
    parser.add_argument("--customers", type=int, default=3000, help="sample size (keep it small)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the DuckDB reference")
    parser.add_argument("--keep-postgres", action="store_true", help="leave the PostgreSQL server running")
    parser.add_argument("--dbt-args", nargs=argparse.REMAINDER, default=[],
                        help="extra arguments for every dbt build (e.g. --exclude snapshots)")
    return parser


def _say(message: str) -> None:
    print(f"[portability] {message}", flush=True)


# -- DuckDB: the reference ---------------------------------------------------------------------


def _duckdb_build(duckdb_dir: Path, customers: int, parquet_dir: Path) -> None:
    """The reference: load and build on DuckDB; raw tables and each build's CLV tables to Parquet."""
    env = {**os.environ, "SEGMENTATION_DATA_DIR": str(duckdb_dir), "SEGMENTATION_DBT_TARGET": "duckdb",
           "SEGMENTATION_WAREHOUSE_PATH": str(duckdb_dir / "warehouse.duckdb")}
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "segmentation"), "generate", "--customers", str(customers),
                    "--out", str(duckdb_dir)], check=True, env=env, cwd=PROJECT_DIR)
    subprocess.run([str(bin_dir / "segmentation"), "load"], check=True, env=env, cwd=PROJECT_DIR)
    for step, args in _build_steps([]).items():
        _say(f"duckdb: dbt {' '.join(args)}")
        subprocess.run([str(bin_dir / "dbt"), *args, "--project-dir", str(PROJECT_DIR),
                        "--profiles-dir", str(PROJECT_DIR), "--target", "duckdb"], check=True, env=env)
        _export_parquet(duckdb_dir / "warehouse.duckdb", PYTHON_MODELS, parquet_dir / f"clv-{step}")
    # dbt's on-run-start made the raw schema (views over the loader's raw zone) in the warehouse.
    _export_parquet(duckdb_dir / "warehouse.duckdb", {"raw": None}, parquet_dir / "raw")


def _export_parquet(warehouse: Path, tables: dict[str, str | None], out_dir: Path) -> None:
    """Tables as one Parquet file each, <out_dir>/<schema>/<table>.parquet.

    `tables` maps a table name to its schema, or a schema to None for all its tables.
    """
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        pairs: list[tuple[str, str]] = []
        for name, schema in tables.items():
            if schema is None:
                pairs += [(name, table) for (table,) in con.sql(
                    f"select table_name from information_schema.tables where table_schema = '{name}'").fetchall()]
            else:
                pairs.append((schema, name))
        existing = set(con.sql("select table_schema, table_name from information_schema.tables").fetchall())
        for schema, name in pairs:
            if (schema, name) not in existing:  # not in this build's selection
                continue
            (out_dir / schema).mkdir(parents=True, exist_ok=True)
            con.execute(f"copy {schema}.{name} to '{out_dir / schema / name}.parquet' (format parquet)")


# -- Raw tables onto an engine ------------------------------------------------------------------


def put_tables(engine: str, parquet_dir: Path) -> None:
    """Make every <schema>/<table>.parquet a table <schema>.<table> on the engine."""
    files = sorted(parquet_dir.glob("*/*.parquet"))
    if engine == "spark":
        spark = _spark_session()
        for path in files:
            schema, table = path.parent.name, path.stem
            spark.sql(f"create schema if not exists {schema}")
            spark.sql(f"drop table if exists {schema}.{table}")
            # A copy next to the warehouse: the table outlives the export folder being rewritten.
            location = Path(os.environ["SEGMENTATION_DATA_DIR"]) / "external" / schema / table
            shutil.rmtree(location, ignore_errors=True)
            location.mkdir(parents=True)
            shutil.copy(path, location / "part-0.parquet")  # Spark skips files named _* (e.g. _load_rejects)
            spark.sql(f"create table {schema}.{table} using parquet location '{location}'")
    else:
        _postgres_copy(files)


_POSTGRES_TYPES = {"VARCHAR": "varchar", "DOUBLE": "double precision", "HUGEINT": "numeric(38,0)",
                   "TIMESTAMP WITH TIME ZONE": "timestamptz", "FLOAT": "real"}


def _postgres_copy(files: Iterable[Path]) -> None:
    import duckdb
    import psycopg2

    with psycopg2.connect(**_postgres_params()) as pg, pg.cursor() as cur:
        for path in files:
            schema, table = path.parent.name, path.stem
            con = duckdb.connect()
            columns = con.sql(f"describe select * from '{path}'").fetchall()
            ddl = ", ".join(f'"{name}" {_POSTGRES_TYPES.get(dtype, dtype.lower())}' for name, dtype, *_ in columns)
            cur.execute(f"create schema if not exists {schema}")
            cur.execute(f'drop table if exists {schema}."{table}" cascade')
            cur.execute(f'create table {schema}."{table}" ({ddl})')
            csv_path = path.with_suffix(".csv")
            con.execute(f"copy (select * from '{path}') to '{csv_path}' (header, format csv)")
            with csv_path.open() as handle:
                cur.copy_expert(f'copy {schema}."{table}" from stdin with (format csv, header true)', handle)
            csv_path.unlink()
            con.close()


def _postgres_params() -> dict[str, object]:
    env = os.environ
    return {
        "host": env.get("SEGMENTATION_PG_HOST", "127.0.0.1"),
        "port": int(env.get("SEGMENTATION_PG_PORT", "55432")),
        "user": env.get("SEGMENTATION_PG_USER", "segmentation"),
        "password": env.get("SEGMENTATION_PG_PASSWORD", ""),
        "dbname": env.get("SEGMENTATION_PG_DATABASE", "segmentation"),
    }


def _postgres_server(action: str) -> None:
    subprocess.run(["bash", str(PROJECT_DIR / "portability" / "postgres.sh"), action], check=True)


def _spark_session():  # -> pyspark.sql.SparkSession
    """The session dbt-spark uses (session mode: same process), created from profiles.yml's settings."""
    from segmentation.engines.spark import spark_session

    return spark_session(PROJECT_DIR)


# -- dbt builds ---------------------------------------------------------------------------------


def _build_steps(exclude: Sequence[str]) -> dict[str, list[str]]:
    """The two builds of `segmentation run`: the review of 12 months ago, then everything."""
    previous = json.dumps({"review_months_before_latest": PREVIOUS_REVIEW_MONTHS})
    return {
        "previous": ["build", "--select", *PREVIOUS_REVIEW_SELECT, "--indirect-selection", "cautious",
                     "--vars", previous, *exclude],
        "current": ["build", *exclude],
    }


def _dbt_builds(run: EngineRun, parquet_dir: Path, extra: Sequence[str]) -> None:
    for step, args in _build_steps(["--exclude", *PYTHON_MODELS]).items():
        put_tables(run.engine, parquet_dir / f"clv-{step}")  # DuckDB's CLV tables of this build
        args = [*args, *extra]
        _say(f"{run.engine}: dbt {' '.join(args)}")
        started = time.perf_counter()
        failed = _dbt(args, run.engine)
        run.seconds[f"build {step}"] = time.perf_counter() - started
        run.failed += failed


def _spark_gate_and_publish(run: EngineRun) -> None:
    """As `segmentation run` does after dbt on Spark: the GX gate (Spark execution engine) on the
    Spark warehouse, then publish (a new published_v<time> database, the `published` views
    switched to it). A blocked gate is a failure; the marts are then read from the old views."""
    from segmentation.engines.spark import validate_and_publish_spark, warehouse_summary_spark

    started = time.perf_counter()
    report, published = validate_and_publish_spark(
        _spark_session(), dbt_project_dir=PROJECT_DIR, progress=_say,
        pages_dir=Path(os.environ["SEGMENTATION_DATA_DIR"]) / "gate_pages")
    run.seconds["gate + publish"] = time.perf_counter() - started
    print(warehouse_summary_spark(_spark_session()), flush=True)  # row accounting, as `segmentation run`
    _say(f"spark: {report.summary().splitlines()[0]}")
    if published is None:
        run.failed += [f"gate: {check.describe()}" for check in report.blocking_failures]
    else:
        _say(f"spark: {published.summary()}")


def _dbt(args: Sequence[str], engine: str) -> list[str]:
    """Run dbt in this process (Spark keeps its session between commands); the failed nodes."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke([*args, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
                                 "--target", engine])
    failed = []
    for node in getattr(result.result, "results", None) or []:
        if str(node.status).lower() in {"error", "fail", "runtime error"}:
            failed.append(f"{node.node.unique_id}: {(node.message or '').strip().splitlines()[0][:300]}")
    if result.exception is not None:
        failed.append(f"dbt: {result.exception}")
    return failed


# -- Reading and comparing marts ----------------------------------------------------------------

Rows = list[tuple]
Table = tuple[list[str], Rows]


def _read_marts_duckdb(warehouse: Path) -> dict[str, Table]:
    import duckdb

    marts: dict[str, Table] = {}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.sql(
            "select table_schema, table_name from information_schema.tables where table_schema in "
            f"{COMPARED_SCHEMAS} and table_type = 'BASE TABLE' order by 1, 2").fetchall()
        for schema, name in names:
            result = con.sql(f"select * from {schema}.{name}")
            marts[f"{schema}.{name}"] = (result.columns, result.fetchall())
    return marts


def _read_marts(engine: str, reference: dict[str, Table]) -> dict[str, Table | str]:
    marts: dict[str, Table | str] = {}
    if engine == "spark":
        from segmentation.engines.spark import PUBLISHED_DATABASE
        from segmentation.publish.warehouse import INTERNAL_PREFIXES

        spark = _spark_session()
        for name in reference:
            table = name.split(".")[-1]
            # What BI reads: the published views (the fct_* facts are not published: the working tables).
            source = name if table.startswith(INTERNAL_PREFIXES) else f"{PUBLISHED_DATABASE}.{table}"
            try:
                frame = spark.table(source)
                marts[name] = (frame.columns, [tuple(row) for row in frame.collect()])
            except Exception as error:  # a missing table is a verdict, not a crash
                marts[name] = f"cannot read: {str(error).splitlines()[0][:200]}"
    else:
        import psycopg2

        with psycopg2.connect(**_postgres_params()) as pg:
            for name in reference:
                with pg.cursor() as cur:
                    try:
                        cur.execute(f"select * from {name}")
                        marts[name] = ([d.name for d in cur.description], [tuple(r) for r in cur.fetchall()])
                    except psycopg2.Error as error:
                        pg.rollback()
                        marts[name] = f"cannot read: {str(error).splitlines()[0][:200]}"
    return marts


def _normal(value: object) -> object:
    """One spelling per value on every engine: numbers rounded to 6 places, dates as ISO text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, decimal.Decimal)):
        number = round(float(value), DECIMALS)
        return 0.0 if number == 0 else number
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _sorted_rows(rows: Rows) -> list[tuple]:
    normal = [tuple(_normal(v) for v in row) for row in rows]
    return sorted(normal, key=lambda row: tuple((v is None, str(type(v)), v if v is not None else 0) for v in row))


def compare(reference: dict[str, Table], other: dict[str, Table | str]) -> dict[str, str]:
    """Per mart: 'identical', or what differs (columns, row count, rows)."""
    verdicts: dict[str, str] = {}
    for name, (columns, rows) in reference.items():
        got = other.get(name, "missing")
        if isinstance(got, str):
            verdicts[name] = got
            continue
        other_columns, other_rows = got
        other_columns = [c.lower() for c in other_columns]
        if sorted(other_columns) != sorted(c.lower() for c in columns):
            verdicts[name] = f"columns differ: {sorted(set(columns) ^ set(other_columns))}"
            continue
        # By name: Spark puts partition columns last.
        positions = [other_columns.index(c.lower()) for c in columns]
        other_rows = [tuple(row[i] for i in positions) for row in other_rows]
        left, right = _sorted_rows(rows), _sorted_rows(other_rows)
        if left == right:
            verdicts[name] = "identical"
            continue
        only_left = set(left) - set(right)
        differing = [columns[i] for i in range(len(columns))
                     if [r[i] for r in left] != [r[i] for r in right]] if len(left) == len(right) else []
        verdicts[name] = (f"{len(only_left)} of {len(left)} rows differ ({len(right)} rows on the engine)"
                          + (f"; columns: {', '.join(differing[:8])}" if differing else ""))
    return verdicts


def _report(verdicts: dict[str, dict[str, str]], runs: Sequence[EngineRun], root: Path) -> int:
    copied = {f"{schema}.{name}" for name, schema in PYTHON_MODELS.items()}
    lines = ["", "Per-mart verdict (reference: DuckDB; ordered rows, numbers rounded to 6 places)"]
    engines = [run.engine for run in runs]
    names = sorted({name for v in verdicts.values() for name in v})
    width = max((len(n) for n in names), default=10) + 2
    lines.append("mart".ljust(width) + "".join(e.ljust(12) for e in engines))
    ok = True
    for name in names:
        cells = []
        for engine in engines:
            verdict = verdicts.get(engine, {}).get(name, "not run")
            ok &= verdict == "identical"
            cells.append(verdict)
        note = "  (COPIED from DuckDB: CLV runs on DuckDB only)" if name in copied else ""
        if all(c == "identical" for c in cells):
            lines.append(name.ljust(width) + "".join("same".ljust(12) for _ in cells) + note)
        else:
            lines.append(name.ljust(width) + " | ".join(f"{e}: {c}" for e, c in zip(engines, cells, strict=True))
                         + note)
    lines.append("")
    lines.append("CLV: the tables of the dbt Python models (" + ", ".join(PYTHON_MODELS) + ") are NOT built on "
                 "Spark or PostgreSQL: before each build they are copied from DuckDB's same build; customer_clv "
                 "and everything downstream are built by dbt on each engine.")
    for run in runs:
        timing = ", ".join(f"{k} {v:.0f} s" for k, v in run.seconds.items())
        lines.append(f"{run.engine}: {timing}; {len(run.failed)} failed dbt node(s)")
        lines += [f"    {failure}" for failure in run.failed]
        ok &= not run.failed
    lines.append("verdict: " + ("every BI mart identical on every engine" if ok else "DIFFERENCES (see above)"))
    text = "\n".join(lines)
    print(text)
    (root / "verdict.txt").write_text(text + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
