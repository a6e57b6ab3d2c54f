"""Kill -9 at every stage, and a second writer: the published file stays whole (issue 20).

One copy of the session warehouse (its raw zone and landing files) goes through, in order:

1. `segmentation publish --skip-build` publishes it: the baseline published marts;
2. the same command killed (SIGKILL) during the gate, the publish and the Parquet export;
3. `segmentation run` killed during the load (nothing new to load, so the kill lands at its
   start; a load killed mid-file is tests/test_load.py's) and during the dbt build;
4. `publish --skip-build` then refuses the half-built warehouse and says what to run;
5. a second `segmentation build` while one runs fails in one line naming the running process;
6. `segmentation run` again: it converges to the baseline marts, and no temporary file of
   any killed stage is left.

After every kill the published file opens, holds a `_publish` record and the baseline
marts. The CLI runs as a subprocess, as an operator runs it. About 4-6 minutes on 2 busy
cores, most of it the two dbt builds (the killed one and the last run).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from conftest import BuiltWarehouse, _copy_warehouse

pytestmark = pytest.mark.slow

SEGMENTATION = str(Path(sys.executable).with_name("segmentation"))
# Columns that say when or from where a run happened, not what it computed.
VOLATILE = re.compile(r"(_at$|_load_id$|^load_id$|source_file|file_path|invocation|^dbt_)")


@dataclass
class CrashSite:
    data_dir: Path
    env: dict[str, str]
    baseline: dict[str, list[tuple]]

    @property
    def published(self) -> Path:
        return self.data_dir / "published" / "warehouse.duckdb"

    @property
    def working(self) -> Path:
        return self.data_dir / "warehouse.duckdb"


def marts_digest(path: Path) -> dict[str, list[tuple]]:
    """Every published table's rows, sorted, numbers to 10 significant digits, volatile columns left out."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns: dict[str, list[str]] = {}
        for schema, table, column, dtype in con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "where table_schema in ('marts', 'audit') order by table_schema, table_name, ordinal_position"
        ).fetchall():
            if VOLATILE.search(column):
                continue
            quoted = '"' + column + '"'
            is_number = dtype.startswith(("DOUBLE", "FLOAT", "DECIMAL"))
            expression = f"{quoted}::double" if is_number else f"{quoted}::varchar"
            columns.setdefault(f"{schema}.{table}", []).append(expression)
        return {
            name: sorted((tuple(_significant(v) for v in row)
                          for row in con.execute(f"select {', '.join(cols)} from {name}").fetchall()), key=repr)
            for name, cols in columns.items()
        }
    finally:
        con.close()


def _significant(value):
    """Doubles to 10 significant digits: sums over many rows differ in their last bits from
    build to build (tests/test_determinism.py)."""
    return float(f"{value:.10g}") if isinstance(value, float) else value


def published_record(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select count(*) from main._publish").fetchone()[0]
    finally:
        con.close()


def segmentation(site: CrashSite, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([SEGMENTATION, *args], env=site.env, capture_output=True, text=True, timeout=timeout)


def kill_at(site: CrashSite, args: list[str], line: str, delay: float) -> str:
    """Start `segmentation <args>`, SIGKILL it `delay` s after it prints a line containing `line`."""
    process = subprocess.Popen([SEGMENTATION, *args], env=site.env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    seen = []
    assert process.stdout is not None
    for output in process.stdout:
        seen.append(output)
        if line in output:
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
            break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, f"not killed at {line!r}:\n{''.join(seen)}"
    return "".join(seen)


@pytest.fixture(scope="module")
def site(built_warehouse: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrashSite]:
    root = tmp_path_factory.mktemp("crash")
    settings = _copy_warehouse(built_warehouse.path, root / "data")
    shutil.copytree(built_warehouse.landing_dir, settings.data_dir / "landing")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SEGMENTATION_")},
        "SEGMENTATION_DATA_DIR": str(settings.data_dir),
        "SEGMENTATION_REPORTS_DIR": str(root / "reports"),
        "DBT_TARGET_PATH": str(root / "dbt" / "target"),
        "DBT_LOG_PATH": str(root / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    site = CrashSite(settings.data_dir, env, {})
    first = segmentation(site, "publish", "--skip-build")
    assert first.returncode == 0, first.stdout + first.stderr
    site.baseline = marts_digest(site.published)
    yield site


def assert_published_intact(site: CrashSite) -> None:
    assert published_record(site.published) == 1
    assert marts_digest(site.published) == site.baseline


@pytest.mark.parametrize(
    ("stage", "line", "delay"),
    [
        ("gate", "validating the warehouse", 2.0),
        ("publish", "publishing marts, audit", 0.5),
        ("export", "exporting the BI marts as Parquet", 0.3),
    ],
)
def test_a_kill_during_the_gate_publish_or_export_leaves_the_published_file_whole(
    site: CrashSite, stage: str, line: str, delay: float
) -> None:
    kill_at(site, ["publish", "--skip-build"], line, delay)
    assert_published_intact(site)


@pytest.mark.parametrize(
    ("stage", "line", "delay"),
    [("load", "[2/5] loading landing files", 0.1), ("build", "dbt build: ", 1.0)],
)
def test_a_kill_during_the_load_or_build_leaves_the_published_file_whole(
    site: CrashSite, stage: str, line: str, delay: float
) -> None:
    kill_at(site, ["run"], line, delay)
    assert_published_intact(site)


def test_publish_skip_build_refuses_the_half_built_warehouse_and_says_what_to_run(site: CrashSite) -> None:
    result = segmentation(site, "publish", "--skip-build")
    assert result.returncode == 1
    assert "did not finish" in result.stderr and "Run `segmentation publish`" in result.stderr
    assert result.stderr.count("\n") == 1
    assert_published_intact(site)


def test_a_second_writer_fails_naming_the_running_one(site: CrashSite) -> None:
    first = subprocess.Popen([SEGMENTATION, "build"], env=site.env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        assert first.stdout is not None
        for output in first.stdout:
            if "dbt build: " in output:  # a quarter of the nodes done: it holds the file
                break
        started = time.monotonic()
        second = segmentation(site, "build", timeout=300)
        assert second.returncode == 1
        assert f"is in use by another process (PID {first.pid}: " in second.stderr
        assert "segmentation build" in second.stderr
        assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
        assert time.monotonic() - started < 120
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)


def test_a_rerun_converges_and_leaves_no_temporary_file(site: CrashSite) -> None:
    result = segmentation(site, "run")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr

    assert marts_digest(site.published) == site.baseline
    leftovers = [
        str(path) for path in site.data_dir.rglob("*")
        if re.search(r"\.tmp-\d+|\.building$|\.wal$", path.name)
    ]
    assert leftovers == []
