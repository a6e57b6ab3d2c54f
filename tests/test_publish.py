"""Build -> validate -> publish: only a build that passes the gate reaches the published file."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from segmentation.config import Settings
from segmentation.dbt_runner import DbtFailed
from segmentation.pipeline import build_validate_publish
from segmentation.publish.warehouse import PublishError, publish
from segmentation.quality.gate import GX_PROJECT_DIR

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def gx_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the committed GX project, so the tests never write into the repository."""
    target = tmp_path_factory.mktemp("gx") / "expectations"
    shutil.copytree(GX_PROJECT_DIR, target, ignore=shutil.ignore_patterns("uncommitted"))
    return target


def working_copy(built_warehouse, folder: Path) -> Settings:
    """Settings whose working warehouse is a copy of the session's built sample."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built_warehouse.path, folder / "warehouse.duckdb")
    return Settings.from_env(
        {
            "SEGMENTATION_PROJECT_DIR": str(PROJECT_DIR),
            "SEGMENTATION_DATA_DIR": str(folder),
            "SEGMENTATION_LANDING_DIR": str(built_warehouse.landing_dir),
            # The session's raw zone, read only: dbt's views point at it again.
            "SEGMENTATION_RAW_DIR": str(built_warehouse.settings.raw_dir),
        }
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(published: Path) -> list[str]:
    """Anything next to the published file that should not be there (.wal, temp files).

    The Parquet export (`parquet/`, written after a publish) belongs there."""
    return sorted(p.name for p in published.parent.iterdir() if p.name not in {published.name, "parquet"})


def schemas_of(path: Path) -> dict[str, set[str]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    finally:
        con.close()
    result: dict[str, set[str]] = {}
    for schema, table in rows:
        result.setdefault(schema, set()).add(table)
    return result


def columns_of(path: Path, schema: str) -> dict[str, list[tuple[str, str, bool]]]:
    """Per table of `schema`: (column, declared type, nullable) in column order."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "select table_name, column_name, data_type, is_nullable from duckdb_columns() "
            "where schema_name = ? order by table_name, column_index",
            [schema],
        ).fetchall()
    finally:
        con.close()
    result: dict[str, list[tuple[str, str, bool]]] = {}
    for table, column, data_type, nullable in rows:
        result.setdefault(table, []).append((column, data_type, nullable))
    return result


def test_a_clean_build_is_published_without_the_pii_schemas(
    built_warehouse, tmp_path: Path, gx_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = working_copy(built_warehouse, tmp_path / "data")
    monkeypatch.setenv("SEGMENTATION_WAREHOUSE_PATH", str(settings.warehouse_path))
    monkeypatch.delenv("SEGMENTATION_PUBLISHED_PATH", raising=False)

    # A real dbt invocation, kept small: the session fixture already built every model.
    result = build_validate_publish(
        settings,
        dbt_args=("build", "--select", "audit_row_reconciliation"),
        gx_project_dir=gx_project,
    )

    assert result.published, result.summary()
    target = tmp_path / "data" / "published" / "warehouse.duckdb"
    assert result.published_path == target == settings.published_path
    assert result.docs_index is not None and result.docs_index.is_file()
    published = schemas_of(target)
    assert set(published) == {"marts", "audit", "main"}
    assert {"audit_quarantine", "audit_row_reconciliation"} <= published["audit"]
    working_marts = schemas_of(settings.warehouse_path)["marts"]
    # Every mart except the order-line and ticket facts, which only feed the review history, and
    # MetricFlow's time spine (not a BI table).
    assert "metricflow_time_spine" in working_marts
    assert published["marts"] == {
        name for name in working_marts if not name.startswith("fct_") and name != "metricflow_time_spine"
    }
    assert {"fct_order_lines", "fct_support_tickets"} <= working_marts
    assert "customer_profitability" in published["marts"]
    assert columns_of(target, "marts") == {
        table: columns for table, columns in columns_of(settings.warehouse_path, "marts").items()
        if table in published["marts"]
    }
    not_null = {
        (table, column) for table, columns in columns_of(target, "marts").items()
        for column, _, nullable in columns if not nullable
    }
    # The model contracts' NOT NULL constraints survive publishing.
    assert ("customer_profitability", "customer_id") in not_null
    assert len(not_null) > 50
    con = duckdb.connect(str(target), read_only=True)
    try:
        source, invocation, checks, warnings = con.execute(
            "select source_file, dbt_invocation_id, checks_total, checks_failed_warnings "
            "from _publish"
        ).fetchone()
        profitability_rows = con.execute(
            "select count(*) from marts.customer_profitability"
        ).fetchone()[0]
    finally:
        con.close()
    assert source == str(settings.warehouse_path)
    assert invocation and len(invocation) == 36
    assert checks == len(result.quality.checks) and warnings == len(result.quality.warnings)
    assert profitability_rows == result.publish.tables["marts.customer_profitability"] > 0
    assert leftovers(target) == []
    assert result.export is not None and result.export.current == settings.parquet_dir / "current"
    assert result.export.tables["customer_profitability"] == profitability_rows


def test_a_blocking_failure_leaves_the_published_file_untouched(
    built_warehouse, tmp_path: Path, gx_project: Path
) -> None:
    settings = working_copy(built_warehouse, tmp_path / "data")
    target = tmp_path / "bi" / "warehouse.duckdb"
    publish(settings.warehouse_path, target)  # yesterday's good build
    before = sha256(target)

    con = duckdb.connect(str(settings.warehouse_path))
    try:
        # A clean line of a cancelled or returned order: it earns no revenue, so only the
        # quantity check can notice it.
        (line_id,) = con.execute(
            "select min(lines.order_line_id) "
            "from intermediate.int_order_lines_validated as lines "
            "inner join intermediate.int_orders_validated as orders using (order_id) "
            "where not lines.is_quarantined and not orders.is_quarantined "
            "and orders.order_status <> 'completed'"
        ).fetchone()
        con.execute(
            "update intermediate.int_order_lines_validated set quantity = 0 "
            "where order_line_id = ? and not is_quarantined",
            [line_id],
        )
    finally:
        con.close()

    result = build_validate_publish(
        settings, dbt_args=None, publish_to=target, gx_project_dir=gx_project, build_docs=False
    )

    assert result.status == "blocked" and result.publish is None
    assert sha256(target) == before
    assert leftovers(target) == []
    [failure] = result.quality.blocking_failures
    assert (failure.suite, failure.column, failure.unexpected_count) == (
        "staging_order_lines_rows", "quantity", 1
    )
    assert failure.sample == (f"quantity=0, order_line_id={line_id}",)
    assert any("staging_order_lines_rows" in r and "quantity" in r for r in result.reasons)
    assert "BLOCKED" in result.summary() and str(settings.warehouse_path) in result.summary()
    assert settings.warehouse_path.is_file()  # kept for inspection


def test_a_dbt_failure_blocks_before_validation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_dbt(args, settings, **_):
        raise DbtFailed("dbt build failed:\n  model.customer_segmentation.customer_profitability: boom")

    monkeypatch.setattr("segmentation.dbt_runner.run_dbt", failing_dbt)
    settings = Settings.from_env(
        {"SEGMENTATION_PROJECT_DIR": str(PROJECT_DIR), "SEGMENTATION_DATA_DIR": str(tmp_path)}
    )
    result = build_validate_publish(settings)
    assert result.status == "blocked" and result.quality is None
    assert "customer_profitability: boom" in result.reasons[0]
    assert not result.published_path.exists()


def test_publishing_refuses_the_schemas_that_hold_personal_data(tmp_path: Path) -> None:
    working = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(working))
    con.execute("create schema marts; create table marts.t as select 1 as x")
    con.execute("create schema staging; create table staging.people as select 'a@b.c' as email")
    con.close()
    with pytest.raises(PublishError, match="staging"):
        publish(working, tmp_path / "bi" / "warehouse.duckdb", ("marts", "staging"))
    with pytest.raises(PublishError, match="no table in schema"):
        publish(working, tmp_path / "bi" / "warehouse.duckdb", ("marts", "audit"))
    assert not (tmp_path / "bi" / "warehouse.duckdb").exists()
    assert leftovers(tmp_path / "bi" / "warehouse.duckdb") == []


READER = textwrap.dedent(
    """
    import json, sys, time
    import duckdb
    path, seconds, max_reads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    counts, errors = {}, []
    print("ready", flush=True)
    deadline = time.monotonic() + seconds
    reads = 0
    while time.monotonic() < deadline and reads < max_reads:
        reads += 1
        try:
            con = duckdb.connect(path, read_only=True)
            try:
                n = con.execute("select count(*) from marts.facts").fetchone()[0]
                total = con.execute("select sum(v) from marts.facts").fetchone()[0]
            finally:
                con.close()
            counts[f"{n}:{total}"] = counts.get(f"{n}:{total}", 0) + 1
        except Exception as exc:
            errors.append(repr(exc))
    print(json.dumps({"reads": reads, "counts": counts, "errors": errors[:5]}), flush=True)
    """
)


def facts_warehouse(path: Path, rows: int) -> tuple[int, int]:
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts; create schema audit")
        con.execute(f"create table marts.facts as select i as v from range({rows}) r(i)")
        con.execute("create table audit.runs as select 1 as run")
    finally:
        con.close()
    return rows, rows * (rows - 1) // 2


def test_a_reader_sees_the_old_or_the_new_file_never_a_partial_one(tmp_path: Path) -> None:
    old, new = tmp_path / "old.duckdb", tmp_path / "new.duckdb"
    states = {facts_warehouse(old, 100_000), facts_warehouse(new, 300_000)}
    target = tmp_path / "bi" / "warehouse.duckdb"
    publish(old, target)

    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(target), "5", "20000"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert reader.stdout.readline().strip() == "ready"
        publishes = 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and publishes < 20:
            publish(new if publishes % 2 == 0 else old, target)
            publishes += 1
        publish(new, target)
        output, _ = reader.communicate(timeout=30)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    report = json.loads(output.strip().splitlines()[-1])
    print(f"\n{publishes + 1} publishes while the reader ran: {report}")
    assert report["errors"] == []
    seen = {tuple(int(x) for x in key.split(":")) for key in report["counts"]}
    assert seen <= states, f"a reader saw a partial file: {seen - states}"
    assert max(states) in seen  # the last publish was visible to new connections
    assert report["reads"] >= 10 and publishes >= 3
    assert leftovers(target) == []
