"""The contact-key salt on PostgreSQL and Spark: in no compiled SQL, artefact or log (issue 20).

`make portability` runs these (they need PostgreSQL and Java 17; tests/test_security.py holds
DuckDB's). Each builds int_customer_contact_keys through `segmentation`'s dbt runner with a
distinctive salt (a space, quotes and a backslash: PGOPTIONS and SQL quoting would both have
to get it right), then checks that neither the salt nor its distinctive part is in any file
under dbt's target/ (compiled and run SQL, manifest.json, run_results.json, partial parse,
catalog) or logs/, and that every key is md5(salt || lower(trim(email))).

`make portability` runs this file in a pytest of its own: a Spark session stopped earlier in the
same JVM (portability/test_spark.py's) leaves its Hive metastore client behind. Kept small:
PostgreSQL builds the one model on a hand-made int_customers_validated (the raw
tables its on-run-start asks for are empty placeholders); Spark loads a 200-customer sample into
its raw zone and runs the model and its two parents.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from segmentation.config import Settings
from segmentation.dbt_runner import run_dbt

PROJECT_DIR = Path(__file__).resolve().parent.parent
SECRET_SALT = "s3cret salt-'with\"quotes\\and-7f3a9c"
SECRET_MARK = b"7f3a9c"  # its distinctive part: also found when the salt is escaped or quoted


def _expected_key(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    return hashlib.md5((SECRET_SALT + email.strip().lower()).encode()).hexdigest()


def _leaks(folder: Path) -> list[str]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return sorted(str(p.relative_to(folder)) for p in files if SECRET_MARK in p.read_bytes())


def _dbt_environment(monkeypatch: pytest.MonkeyPatch, target: str, data_dir: Path, artefacts: Path) -> Settings:
    monkeypatch.setenv("SEGMENTATION_DBT_TARGET", target)
    monkeypatch.setenv("SEGMENTATION_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DBT_TARGET_PATH", str(artefacts / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(artefacts / "logs"))
    monkeypatch.setenv("SEGMENTATION_CONTACT_KEY_SALT", SECRET_SALT)
    for name in ("SEGMENTATION_WAREHOUSE_PATH", "SEGMENTATION_RAW_DIR", "SEGMENTATION_LANDING_DIR", "PGOPTIONS"):
        monkeypatch.delenv(name, raising=False)
    return Settings.from_env({"SEGMENTATION_DATA_DIR": str(data_dir)})


def _assert_no_leak(artefacts: Path) -> None:
    names = {p.name for p in artefacts.rglob("*") if p.is_file()}
    assert {"manifest.json", "run_results.json", "dbt.log", "int_customer_contact_keys.sql"} <= names
    assert _leaks(artefacts) == []


# -- PostgreSQL ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres_port() -> Iterator[int]:
    """A throwaway server (portability/postgres.sh) on a free port, so it never meets the one
    `portability/run.py` starts; its folder is readable by the server's user (postgres)."""
    if not shutil.which("psql") and not list(Path("/usr/lib/postgresql").glob("*/bin")):
        pytest.skip("PostgreSQL is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = Path(tempfile.mkdtemp(prefix="segmentation-pg-"))
    folder.chmod(0o755)
    env = {**os.environ, "SEGMENTATION_DATA_DIR": str(folder), "SEGMENTATION_PG_PORT": str(port)}
    script = str(PROJECT_DIR / "portability" / "postgres.sh")
    subprocess.run(["bash", script, "start"], check=True, env=env)
    try:
        yield port
    finally:
        subprocess.run(["bash", script, "stop"], check=False, env=env)
        shutil.rmtree(folder, ignore_errors=True)


CUSTOMERS = [("C1", " Ann.Lee@Example.ORG ", False), ("C2", None, False), ("C3", "  ", False),
             ("C4", "bob@example.org", False), ("C5", "quarantined@example.org", True)]


def test_the_salt_is_in_no_artefact_on_postgres(postgres_port: int, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg2

    from segmentation.engines.postgres import postgres_connection_parameters

    monkeypatch.setenv("SEGMENTATION_PG_PORT", str(postgres_port))
    artefacts = tmp_path / "dbt"
    settings = _dbt_environment(monkeypatch, "postgres", tmp_path / "data", artefacts)
    run_dbt(["parse"], settings)
    manifest = json.loads((artefacts / "target" / "manifest.json").read_text())
    raw_tables = sorted(source["identifier"] for source in manifest["sources"].values()
                        if source["source_name"] in ("landing", "loader"))
    # The model's input by hand; the raw tables only have to exist for the on-run-start check.
    with psycopg2.connect(**postgres_connection_parameters()) as pg, pg.cursor() as cur:
        cur.execute("create schema if not exists raw; create schema if not exists intermediate")
        for table in raw_tables:
            cur.execute(f'create table if not exists raw."{table}" (placeholder integer)')
        cur.execute("drop table if exists intermediate.int_customers_validated")
        cur.execute("create table intermediate.int_customers_validated"
                    " (customer_id text, email text, is_quarantined boolean)")
        cur.executemany("insert into intermediate.int_customers_validated values (%s, %s, %s)", CUSTOMERS)

    run_dbt(["run", "--select", "int_customer_contact_keys", "--log-level-file", "debug"], settings)
    run_dbt(["docs", "generate", "--select", "int_customer_contact_keys"], settings)

    _assert_no_leak(artefacts)
    with psycopg2.connect(**postgres_connection_parameters()) as pg, pg.cursor() as cur:
        cur.execute("select customer_id, contact_key from intermediate.int_customer_contact_keys")
        keys = dict(cur.fetchall())
    assert keys == {c: _expected_key(email) for c, email, quarantined in CUSTOMERS if not quarantined}
    assert keys["C1"] is not None and keys["C4"] is not None

    # Without the setting (plain dbt, no PGOPTIONS) the model fails with a clear error.
    compiled = next((artefacts / "target" / "compiled").rglob("int_customer_contact_keys.sql")).read_text()
    with (psycopg2.connect(**postgres_connection_parameters()) as pg, pg.cursor() as cur,
          pytest.raises(psycopg2.Error, match="no contact key salt: run dbt through segmentation")):
        cur.execute(compiled)


def test_pgoptions_escape_what_the_server_would_split() -> None:
    from segmentation.engines.postgres import pgoptions_with_setting

    assert pgoptions_with_setting("", "a.b", "x y\\z'\"") == "-c a.b=x\\ y\\\\z'\""
    assert pgoptions_with_setting("-c search_path=s", "a.b", "v") == "-c search_path=s -c a.b=v"


# -- Spark ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spark_home() -> Iterator[Path]:
    """A session as profiles.yml configures dbt-spark's, with its warehouse and Derby metastore
    in a temporary folder (absolute, so it does not matter whether this JVM started first)."""
    pytest.importorskip("pyspark")
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    if SparkContext._gateway is not None:  # another module's session ran in this process
        pytest.skip("needs a JVM of its own: a stopped session's Hive metastore client stays in the JVM "
                    "(make portability runs this file in its own pytest)")

    from segmentation.engines.spark import spark_profile_parameters

    home = Path(tempfile.mkdtemp(prefix="segmentation-spark-"))
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    parameters = spark_profile_parameters(PROJECT_DIR)
    parameters.update({
        "spark.master": "local[1]",
        "spark.sql.warehouse.dir": str(home / "spark" / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={home / 'metastore_db'};create=true",
    })
    parameters.pop("spark.driver.extraJavaOptions", None)
    builder = SparkSession.builder.enableHiveSupport()
    for name, value in parameters.items():
        builder = builder.config(name, value)
    session = builder.getOrCreate()
    try:
        yield home
    finally:
        session.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_the_salt_is_in_no_artefact_or_spark_plan_on_spark(spark_home: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from pyspark.sql import SparkSession

    from segmentation.ingest.load import load_landing
    from segmentation.sample.generate import GeneratorConfig, generate

    artefacts = tmp_path / "dbt"
    settings = _dbt_environment(monkeypatch, "spark", spark_home, artefacts)
    generate(GeneratorConfig(customers=200, seed=7), settings.data_dir)
    load_landing(settings.landing_dir, settings.raw_dir)
    run_dbt(["seed", "--select", "acquisition_channels"], settings)
    run_dbt(["run", "--select", "+int_customer_contact_keys", "--log-level-file", "debug"], settings)

    _assert_no_leak(artefacts)
    assert _leaks(spark_home) == []  # the warehouse's files and the metastore
    spark = SparkSession.builder.getOrCreate()
    rows = spark.sql(
        "select v.customer_id, v.email, k.contact_key from intermediate.int_customer_contact_keys k"
        " join intermediate.int_customers_validated v using (customer_id)").collect()
    assert len(rows) > 100
    assert sum(row.contact_key is not None for row in rows) > 100
    assert all(row.contact_key == _expected_key(row.email) for row in rows)
    # A path from the environment (the raw zone's) is quoted with Spark's escaping: a backslash
    # before a quote cannot end the literal.
    from dbt.cli.main import dbtRunner

    path = "/data/o'brien\\'); drop table intermediate.int_customer_contact_keys; --"
    compiled = dbtRunner().invoke([
        "compile", "--quiet", "--inline", "select {{ raw_zone_string(" + json.dumps(path) + ") }} as v",
        "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]).result.results[0].node.compiled_code
    assert spark.sql(compiled).collect()[0].v == path
    assert spark.catalog.tableExists("intermediate.int_customer_contact_keys")
    # Spark's plans show a view's column names, not its rows: nothing there for a log to print.
    plan = spark.sql("select md5(concat((select contact_key_salt from segmentation_secrets), 'x')) as k")
    assert SECRET_MARK.decode() not in plan._jdf.queryExecution().toString()
