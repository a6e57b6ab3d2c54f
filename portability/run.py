"""`make portability`: the same dbt models on DuckDB, Spark and PostgreSQL, marts compared row for row.

1. DuckDB, the reference: `segmentation run` on a generated sample (generate, load into the
   raw zone, the review of 12 months ago, then everything: dbt up to the RFM summary, the CLV
   step, dbt for the rest; the gate, publish).
2. Spark, the whole job: `segmentation run` in this process with SEGMENTATION_DBT_TARGET=spark,
   from the same landing files: the loader writes Spark's own raw zone, dbt's on-run-start
   registers it (macros/raw_zone.sql), the CLV step reads and writes through dbt's Spark
   session, the GX gate runs on Spark's execution engine and publish writes a new
   `published_v<time>` database and switches the views of `published` to it.
3. PostgreSQL, the models: DuckDB's `raw` relations are copied in (`put_tables`, COPY; the raw
   zone is not wired for PostgreSQL), then the same two builds with the CLV step between dbt's
   two parts (segmentation/engines/postgres.py). No gate or publish on PostgreSQL.
   Then Dagster on Spark, on the warehouse the CLI just built (`_dagster_on_spark`): a real run of
   the refresh job's assets after dbt's first step (the loader, the CLV step, a dbt command,
   the GX checks, publish, the Parquet export, the report), all on Spark; it must publish a new
   version equal to DuckDB's, export what DuckDB exports and write the report from Spark.
4. Every BI mart (schemas marts and audit) is compared with DuckDB's: DuckDB's published file
   against Spark's `published` views (the fct_* facts, which are not published: the working
   tables) and PostgreSQL's built tables; ordered rows, numbers rounded to 6 places. The CLV
   parameters of clv_model_fit are printed side by side. One verdict per mart; exit 1 if any
   differs, the Spark job failed or its gate blocked.

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
# Same as `segmentation run`: first the review of 12 months ago (REVIEW_SELECT), then the full build.
PREVIOUS_REVIEW_MONTHS = 12
# Compared marts are the published ones (BI reads only these schemas).
COMPARED_SCHEMAS = ("marts", "audit")
DECIMALS = 6
# Which load brought a row, and when: they differ by design between two loads of the same landing
# files (Spark's job loads them itself). The facts and audit_quarantine carry them; the rows, their
# files and lines are compared. The same columns compare_marts-style checks ignore.
LOAD_COLUMNS = {"_loaded_at", "_load_id", "loaded_at", "load_id"}
# The CLV fits (review and calibration period, BG/NBD and Gamma-Gamma): printed side by side.
CLV_FITS = "marts.clv_model_fit"
CLV_PARAMETERS = ("log_likelihood", "r", "alpha", "a", "b", "p", "q", "gamma")


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

    # BI marts as BI reads them (the published file); the facts, which are not published, from
    # the working warehouse.
    reference = {**_read_marts_duckdb(warehouse), **_read_marts_duckdb(duckdb_dir / "published" / "warehouse.duckdb")}
    verdicts: dict[str, dict[str, str]] = {}
    fits: dict[str, Table | str] = {"duckdb": reference.get(CLV_FITS, "missing")}
    runs: list[EngineRun] = []
    for engine in args.engines:
        os.environ["SEGMENTATION_DATA_DIR"] = str(root / engine)
        os.environ["SEGMENTATION_DBT_TARGET"] = engine
        run = EngineRun(engine)
        runs.append(run)
        if engine == "spark" and not (args.compare_only or args.dagster_only):
            shutil.rmtree(root / engine, ignore_errors=True)  # a new metastore: the job starts from scratch
        if engine == "postgres":
            _postgres_server("start")
        if engine == "spark":
            _spark_environment(landing_dir=duckdb_dir / "landing")
        try:
            if args.compare_only or (args.dagster_only and engine == "spark"):
                _say(f"{engine}: comparing what the last run left")
            elif engine == "spark":
                _spark_job(run, landing_dir=duckdb_dir / "landing")
            else:
                _say(f"{engine}: raw tables from {parquet_dir / 'raw'}")
                started = time.perf_counter()
                put_tables(engine, parquet_dir / "raw")
                run.seconds["load raw"] = time.perf_counter() - started
                _dbt_builds(run, args.dbt_args)
            marts = _read_marts(engine, reference)
            fits[engine] = marts.get(CLV_FITS, "missing")
            verdicts[engine] = compare(reference, marts)
            if engine == "spark" and not args.compare_only and not run.failed:
                dagster = EngineRun("spark-dagster")
                runs.append(dagster)
                verdicts[dagster.engine] = _dagster_on_spark(dagster, reference, duckdb_dir / "published" / "parquet")
        finally:
            if engine == "postgres" and not args.keep_postgres:
                _postgres_server("stop")
    return _report(verdicts, runs, root, fits)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--data-dir", default=str(PROJECT_DIR / "data" / "portability"),
                        help="state of every engine: <dir>/duckdb, <dir>/spark, <dir>/postgres, <dir>/parquet")
    parser.add_argument("--customers", type=int, default=3000, help="sample size (keep it small)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the DuckDB reference")
    parser.add_argument("--keep-postgres", action="store_true", help="leave the PostgreSQL server running")
    parser.add_argument("--compare-only", action="store_true",
                        help="build nothing: compare what the last run left on each engine")
    parser.add_argument("--dagster-only", action="store_true",
                        help="Spark: only the Dagster run, on the warehouse the last Spark job left")
    parser.add_argument("--dbt-args", nargs=argparse.REMAINDER, default=[],
                        help="extra arguments for every dbt build (e.g. --exclude snapshots)")
    return parser


def _say(message: str) -> None:
    print(f"[portability] {message}", flush=True)


# -- DuckDB: the reference ---------------------------------------------------------------------


def _duckdb_build(duckdb_dir: Path, customers: int, parquet_dir: Path) -> None:
    """The reference: `segmentation run` on DuckDB (sample, load, both builds with the CLV step,
    gate, publish); then DuckDB's raw relations to Parquet for PostgreSQL."""
    env = {**os.environ, "SEGMENTATION_DATA_DIR": str(duckdb_dir), "SEGMENTATION_DBT_TARGET": "duckdb",
           "SEGMENTATION_WAREHOUSE_PATH": str(duckdb_dir / "warehouse.duckdb")}
    for name in ("SEGMENTATION_LANDING_DIR", "SEGMENTATION_RAW_DIR", "SEGMENTATION_PUBLISHED_PATH"):
        env.pop(name, None)
    bin_dir = Path(sys.executable).parent
    _say(f"duckdb: segmentation run --customers {customers}")
    subprocess.run([str(bin_dir / "segmentation"), "run", "--customers", str(customers)],
                   check=True, env=env, cwd=PROJECT_DIR)
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
    """Make every <schema>/<table>.parquet a table <schema>.<table> on PostgreSQL (Spark reads the
    raw zone itself)."""
    if engine != "postgres":
        raise ValueError(f"put_tables is for PostgreSQL, not {engine}")
    _postgres_copy(sorted(parquet_dir.glob("*/*.parquet")))


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


def _build_steps(extra: Sequence[str]) -> dict[str, tuple[list[str], list[str]]]:
    """The two builds of `segmentation run` (the review of 12 months ago, then everything), each as
    dbt before the CLV step and dbt after it (segmentation.pipeline.dbt_build_with_clv)."""
    from segmentation.clv.step import CLV_INPUT_SELECT
    from segmentation.config import REVIEW_SELECT

    previous = ["--vars", json.dumps({"review_months_before_latest": PREVIOUS_REVIEW_MONTHS})]
    before_clv = ["build", "--select", CLV_INPUT_SELECT, "--indirect-selection", "cautious"]
    after_clv = ["--exclude", CLV_INPUT_SELECT, "--indirect-selection", "cautious"]
    return {
        "previous": ([*before_clv, *previous, *extra],
                     ["build", "--select", *REVIEW_SELECT.split(), *after_clv, *previous, *extra]),
        "current": ([*before_clv, *extra], ["build", *after_clv, *extra]),
    }


def _clv_step(engine: str, data_dir: Path) -> float:
    """The CLV step on this engine (default CLV vars, as both builds use); its seconds."""
    from segmentation.clv.step import clv_settings, run_clv_step
    from segmentation.config import Settings
    from segmentation.engines import table_engine

    settings = Settings.from_env({**os.environ, "SEGMENTATION_DATA_DIR": str(data_dir),
                                  "SEGMENTATION_WAREHOUSE_PATH": str(data_dir / "warehouse.duckdb")})
    tables = table_engine(settings, engine)
    try:
        result = run_clv_step(tables, clv_settings())
    finally:
        tables.close()
    _say(f"{engine}: {result.summary()}")
    return result.seconds


def _dbt_builds(run: EngineRun, extra: Sequence[str]) -> None:
    for step, (before_clv, after_clv) in _build_steps(extra).items():
        started = time.perf_counter()
        _say(f"{run.engine}: dbt {' '.join(before_clv)}")
        run.failed += _dbt(before_clv, run.engine)
        if not run.failed:  # the step reads what the first part built
            run.seconds[f"clv step {step}"] = _clv_step(run.engine, Path(os.environ["SEGMENTATION_DATA_DIR"]))
        _say(f"{run.engine}: dbt {' '.join(after_clv)}")
        run.failed += _dbt(after_clv, run.engine)
        run.seconds[f"build {step}"] = time.perf_counter() - started


def _spark_job(run: EngineRun, landing_dir: Path) -> None:
    """`segmentation run` on Spark, in this process (the session stays for reading the marts):
    load the landing files into Spark's own raw zone, the review of 12 months ago, dbt with the
    CLV step, the gate on Spark and the versioned publish. A failed or blocked run is a failure."""
    from segmentation.cli import main as segmentation_cli

    _spark_environment(landing_dir)
    _say(f"spark: segmentation run (landing files {landing_dir})")
    started = time.perf_counter()
    code = segmentation_cli(["run"])
    run.seconds["segmentation run"] = time.perf_counter() - started
    if code != 0:
        run.failed.append(f"segmentation run on Spark exited {code} (its output above says why)")


def _spark_environment(landing_dir: Path) -> None:
    os.environ["SEGMENTATION_LANDING_DIR"] = str(landing_dir)
    for name in ("SEGMENTATION_RAW_DIR", "SEGMENTATION_WAREHOUSE_PATH", "SEGMENTATION_PUBLISHED_PATH",
                 "SEGMENTATION_PARQUET_DIR", "SEGMENTATION_REPORTS_DIR"):
        os.environ.pop(name, None)  # Spark's own raw zone, export and reports under its data dir


# -- Dagster on Spark ---------------------------------------------------------------------------

# The dbt model the Dagster run rebuilds after the CLV step: one dbt command (a subprocess with
# its own Spark JVM) between Spark steps of the Dagster process, with a GX suite on it.
DAGSTER_DBT_MODEL = ("marts", "customer_clv")
# Built in the same dbt command: it needs the contact-key salt, which only reaches a dbt
# subprocess through `segmentation-dbt` (segmentation/dbt_cli.py); plain `dbt` fails on it.
DAGSTER_SECRET_MODEL = ("intermediate", "int_customer_contact_keys")


def _dagster_selection():  # -> (definitions, asset keys)
    """The refresh job's assets after dbt's first step: the loader (finds nothing new), the CLV
    step, the dbt models from it to marts.customer_clv, publish, the export and the report. The
    first dbt step (the CLI's run built it) is left out: on Spark every dbt command rebuilds its
    models in full, so the whole job would add the CLI's build time again."""
    import dagster as dg

    from orchestration.definitions import clv_scores, defs, warehouse_dbt_assets
    from orchestration.defs.ingestion import LOADER_KEYS, RAW_KEYS

    graph_assets = [clv_scores, warehouse_dbt_assets]
    after_clv = (dg.AssetSelection.assets(*clv_scores.keys).downstream()
                 & dg.AssetSelection.assets(dg.AssetKey(list(DAGSTER_DBT_MODEL))).upstream())
    keys = {*RAW_KEYS, *LOADER_KEYS, *clv_scores.keys, *after_clv.resolve(graph_assets),
            dg.AssetKey(list(DAGSTER_SECRET_MODEL)),
            *(dg.AssetKey([name]) for name in ("published_warehouse", "bi_parquet_export", "review_report"))}
    return defs, keys


def _dagster_on_spark(run: EngineRun, reference: dict[str, Table], duckdb_export: Path) -> dict[str, str]:
    """A real Dagster run (orchestration/definitions.py, job refresh_warehouse) on the Spark
    warehouse the CLI's Spark job left. Checks, each a failure of `run` when it does not hold:
    the run succeeded with every selected asset materialized on Spark; it published a new
    version (not the CLI's); the published marts equal DuckDB's (the returned verdicts); its
    Parquet export holds DuckDB's exported rows table by table; its report was read from Spark."""
    import dagster as dg

    from segmentation.config import Settings
    from segmentation.engines.spark import current_published_version, release_spark, spark_session

    settings = Settings.from_env()
    cli_version = current_published_version(spark_session(PROJECT_DIR))
    # This process's session (the CLI job's) holds Spark-local's Derby metastore: let go of it,
    # so the run's dbt subprocess can open it.
    release_spark()
    defs, keys = _dagster_selection()
    _say(f"spark: Dagster run of refresh_warehouse, {len(keys)} assets (CLV step, dbt "
         f"{'.'.join(DAGSTER_DBT_MODEL)} and {'.'.join(DAGSTER_SECRET_MODEL)}, GX checks, publish, export, report)")
    started = time.perf_counter()
    result = defs.resolve_job_def("refresh_warehouse").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), asset_selection=sorted(keys), raise_on_error=False)
    run.seconds["dagster run"] = time.perf_counter() - started
    materialized = {e.asset_key: e.step_materialization_data.materialization
                    for e in result.get_asset_materialization_events()}
    if not result.success:
        failures = [e.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        run.failed.append(f"the Dagster run failed: {'; '.join(m[:300] for m in failures) or 'see its log'}")
    if missing := sorted(k.to_user_string() for k in keys - set(materialized)):
        run.failed.append(f"the Dagster run did not materialize {', '.join(missing)}")
    for name in ("published_warehouse", "bi_parquet_export", "review_report"):
        engine = materialized.get(dg.AssetKey([name]))
        engine = engine.metadata.get("engine") if engine else None
        if engine is None or engine.value != "spark":
            run.failed.append(f"{name} was not written on Spark (metadata engine: {engine and engine.value})")
    checks = [e.asset_check_evaluation_data for e in result.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    gx = [c for c in checks if c.check_name.startswith("gx_")]
    if not gx or not all(c.passed or c.severity == dg.AssetCheckSeverity.WARN for c in gx):
        run.failed.append(f"GX checks in the Dagster run: {len(gx)}, failed: "
                          f"{[c.check_name for c in gx if not c.passed]}")

    spark = spark_session(PROJECT_DIR)  # the Dagster run's last session (its report), or a new one
    version = current_published_version(spark)
    if version is None or version == cli_version:
        run.failed.append(f"the Dagster run published no new version (current {version}, the CLI's {cli_version})")
    report = materialized.get(dg.AssetKey(["review_report"]))
    report_path = Path(report.metadata["path"].value) if report else None
    if report_path is None or "the published Spark database published" not in report_path.read_text():
        run.failed.append(f"no report written from Spark's published views ({report_path})")
    export = compare(_read_export(duckdb_export / "current"), _read_export(settings.parquet_dir / "current"))
    if differing := {name: verdict for name, verdict in export.items() if verdict != "identical"}:
        run.failed.append(f"the Parquet export differs from DuckDB's: {differing}")
    _say(f"spark-dagster: published {version}; report {report_path}; export {settings.parquet_dir / 'current'}: "
         f"{sum(v == 'identical' for v in export.values())} of {len(export)} tables as DuckDB's")
    return compare(reference, _read_marts("spark", reference))


def _read_export(current: Path) -> dict[str, Table]:
    """Every table of a Parquet export (segmentation.publish.parquet_export's layout), read by
    DuckDB with hive partitioning, and its CSV's rows; {} when there is no export."""
    import duckdb

    tables: dict[str, Table] = {}
    if not current.is_dir():
        return tables
    with duckdb.connect() as con:
        for folder in sorted(p for p in current.iterdir() if p.is_dir()):
            result = con.sql(f"select * from read_parquet('{folder}/**/*.parquet', hive_partitioning = true, "
                             "union_by_name = true)")
            tables[folder.name] = (result.columns, result.fetchall())
        for csv in sorted(current.glob("*.csv")):
            result = con.sql(f"select * from read_csv('{csv}', header = true, all_varchar = true)")
            tables[csv.name] = (result.columns, [tuple(_csv_cell(v) for v in row) for row in result.fetchall()])
    return tables


def _csv_cell(value: str | None) -> object:
    """A CSV cell, spelled as one number when it is one (Spark writes 0.5 where DuckDB writes
    0.50 for a decimal, and 1.0E-4 for a double)."""
    try:
        return float(value) if value is not None else None
    except ValueError:
        return value


def _dbt(args: Sequence[str], engine: str) -> list[str]:
    """Run dbt in this process (Spark keeps its session between commands); the failed nodes."""
    from dbt.cli.main import dbtRunner

    from segmentation.dbt_runner import temporary_environment
    from segmentation.dbt_secrets import secrets_for_dbt

    # The contact-key salt reaches the engine beside dbt, as `segmentation` hands it (PGOPTIONS
    # on PostgreSQL), for this command only.
    with temporary_environment(secrets_for_dbt(engine, PROJECT_DIR)):
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
        from segmentation.publish.warehouse import INTERNAL_PREFIXES, INTERNAL_RELATIONS

        spark = _spark_session()
        for name in reference:
            table = name.split(".")[-1]
            # What BI reads: the published views (the fct_* facts and the time spine are not
            # published: the working tables).
            internal = table.startswith(INTERNAL_PREFIXES) or table in INTERNAL_RELATIONS
            source = name if internal else f"{PUBLISHED_DATABASE}.{table}"
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
        # By name: Spark puts partition columns last. Which load brought a row is not compared
        # (LOAD_COLUMNS).
        kept = [i for i, c in enumerate(columns) if c.lower() not in LOAD_COLUMNS]
        columns = [columns[i] for i in kept]
        rows = [tuple(row[i] for i in kept) for row in rows]
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


def _clv_parameter_lines(fits: dict[str, Table | str]) -> tuple[list[str], bool]:
    """The CLV parameters of every engine, rounded to 6 places, one line per fit and engine;
    and whether every engine's equal DuckDB's."""
    def by_fit(table: Table | str) -> dict[tuple[str, str], tuple]:
        if isinstance(table, str):
            return {}
        columns, rows = table
        names = [c.lower() for c in columns]
        return {
            (row[names.index("model_name")], row[names.index("fit_period")]):
            tuple(_normal(row[names.index(p)]) for p in CLV_PARAMETERS)
            for row in rows
        }

    reference = by_fit(fits["duckdb"])
    lines = ["", f"CLV parameters (clv_model_fit, rounded to {DECIMALS} places; '=' means equal to DuckDB's):",
             "engine    fit                        " + " ".join(p.rjust(18) for p in CLV_PARAMETERS)]
    equal = bool(reference)
    for engine, table in fits.items():
        if isinstance(table, str):
            lines.append(f"{engine:9s} {table}")
            equal = False
            continue
        for key, values in sorted(by_fit(table).items()):
            same = engine != "duckdb" and reference.get(key) == values
            equal &= engine == "duckdb" or same
            cells = " ".join(("" if v is None else str(v)).rjust(18) for v in values)
            lines.append(f"{engine:9s} {key[0] + ' ' + key[1]:26s} {cells}{'  =' if same else ''}")
        equal &= engine == "duckdb" or set(by_fit(table)) == set(reference)
    lines.append("CLV parameters equal to 6 places on every engine: " + ("yes" if equal else "NO"))
    return lines, equal


def _report(verdicts: dict[str, dict[str, str]], runs: Sequence[EngineRun], root: Path,
            fits: dict[str, Table | str]) -> int:
    lines = ["", "Per-mart verdict (reference: DuckDB; ordered rows, numbers rounded to 6 places)"]
    engines = [run.engine for run in runs]
    names = sorted({name for v in verdicts.values() for name in v})
    width = max((len(n) for n in names), default=10) + 2
    columns = [max(12, len(e) + 2) for e in engines]
    lines.append("mart".ljust(width) + "".join(e.ljust(c) for e, c in zip(engines, columns, strict=True)))
    ok = True
    for name in names:
        cells = []
        for engine in engines:
            verdict = verdicts.get(engine, {}).get(name, "not run")
            ok &= verdict == "identical"
            cells.append(verdict)
        note = ""
        if all(c == "identical" for c in cells):
            lines.append(name.ljust(width) + "".join("same".ljust(c) for c in columns) + note)
        else:
            lines.append(name.ljust(width) + " | ".join(f"{e}: {c}" for e, c in zip(engines, cells, strict=True))
                         + note)
    parameter_lines, parameters_equal = _clv_parameter_lines(fits)
    lines += parameter_lines
    ok &= parameters_equal
    lines.append("")
    lines.append("CLV: the CLV step (segmentation/clv/step.py) fitted and scored on each engine from that "
                 "engine's RFM summary. Spark ran the whole job (`segmentation run`: load, dbt, CLV step, "
                 "gate, publish); PostgreSQL the two builds with the CLV step.")
    for run in runs:
        timing = ", ".join(f"{k} {v:.0f} s" for k, v in run.seconds.items())
        lines.append(f"{run.engine}: {timing}; {len(run.failed)} failure(s)")
        lines += [f"    {failure}" for failure in run.failed]
        ok &= not run.failed
    lines.append("verdict: " + ("every BI mart identical on every engine" if ok else "DIFFERENCES (see above)"))
    text = "\n".join(lines)
    print(text)
    (root / "verdict.txt").write_text(text + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
