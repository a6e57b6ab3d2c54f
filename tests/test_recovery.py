"""Recovery after a crash (issue 20): leftovers removed, a half-built warehouse never published.

- The temporary files of a publish or export that was killed (named after its pid) are
  removed by the next publish or export; those of a process still running are kept.
- `publish --skip-build` after a killed build (a `.wal` or the `<warehouse>.building`
  marker left) refuses in one line that says what to run; with the writer still running,
  it names that process. The published file is not touched.
- A data folder with a quote in its name publishes and exports.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import BuiltWarehouse

from segmentation import cli
from segmentation.publish.leftovers import remove_leftovers
from segmentation.publish.warehouse import publish


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def small_working_warehouse(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("create schema marts; create schema audit")
    con.execute("create table marts.segment_reviews as select 'rolling-2025-06-30' as review_id")
    con.execute("create table audit.audit_quarantine as select 1 as n")
    con.close()
    return path


def test_a_killed_publishs_temporary_files_are_removed_by_the_next_publish(tmp_path: Path) -> None:
    working = small_working_warehouse(tmp_path / "warehouse.duckdb")
    published = tmp_path / "published" / "warehouse.duckdb"
    published.parent.mkdir()
    gone, alive = dead_pid(), os.getppid()
    leftovers = [published.parent / f"warehouse.duckdb.tmp-{gone}{suffix}" for suffix in ("", ".wal")]
    for leftover in leftovers:
        leftover.write_bytes(b"half a file")
    (published.parent / f"warehouse.duckdb.tmp-{gone}.spill").mkdir()
    running = published.parent / f"warehouse.duckdb.tmp-{alive}"
    running.write_bytes(b"a publish that is still running")

    publish(working, published)

    assert sorted(p.name for p in published.parent.iterdir()) == sorted(["warehouse.duckdb", running.name])


def test_a_killed_exports_staging_folders_are_removed_and_running_ones_kept(tmp_path: Path) -> None:
    versions = tmp_path / "parquet" / "versions"
    gone, alive = dead_pid(), os.getppid()
    (versions / f".20260101T000000000000Z.tmp-{gone}" / "dim_customer_segments").mkdir(parents=True)
    (versions / f".20260101T000001000000Z.tmp-{alive}").mkdir()
    (versions / "20251231T000000000000Z").mkdir()
    (tmp_path / "parquet" / f".current.tmp-{gone}").symlink_to("versions/20251231T000000000000Z")

    removed = remove_leftovers(versions, ".") + remove_leftovers(tmp_path / "parquet", ".current.tmp-")

    assert sorted(p.name for p in removed) == sorted([f".20260101T000000000000Z.tmp-{gone}", f".current.tmp-{gone}"])
    assert sorted(p.name for p in versions.iterdir()) == sorted(
        [f".20260101T000001000000Z.tmp-{alive}", "20251231T000000000000Z"]
    )


def _settings_env(monkeypatch: pytest.MonkeyPatch, working: Path, published: Path) -> None:
    monkeypatch.setenv("SEGMENTATION_WAREHOUSE_PATH", str(working))
    monkeypatch.setenv("SEGMENTATION_PUBLISHED_PATH", str(published))


def _crash_while_writing(working: Path) -> None:
    """A writer killed before its checkpoint: DuckDB leaves the .wal next to the file."""
    code = (
        f"import duckdb, os; con = duckdb.connect({str(working)!r}); "
        "con.execute(\"set checkpoint_threshold = '1GB'\"); "
        "con.execute('create table marts.half_built as select 1 as x'); os._exit(9)"
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    assert Path(f"{working}.wal").exists()


@pytest.mark.parametrize("left", ["wal", "build_marker"])
def test_publish_skip_build_after_a_killed_build_says_what_to_run(
    left: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    working = small_working_warehouse(tmp_path / "warehouse.duckdb")
    published = tmp_path / "published.duckdb"
    published.write_bytes(b"the published file")
    if left == "wal":
        _crash_while_writing(working)
    else:
        Path(f"{working}.building").write_text(f"{dead_pid()}\n")
    _settings_env(monkeypatch, working, published)

    assert cli.main(["publish", "--skip-build"]) == 1

    err = capsys.readouterr().err
    assert "was left by a build that did not finish" in err
    assert "Run `segmentation publish` (without --skip-build)" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert published.read_bytes() == b"the published file"


def test_publish_skip_build_while_a_build_writes_names_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    working = small_working_warehouse(tmp_path / "warehouse.duckdb")
    Path(f"{working}.building").write_text("1\n")
    writer = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, time; con = duckdb.connect({str(working)!r}); print('writing', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
        _settings_env(monkeypatch, working, tmp_path / "published.duckdb")

        assert cli.main(["publish", "--skip-build"]) == 1

        err = capsys.readouterr().err
        assert f"is being written by PID {writer.pid}: " in err
        assert err.count("\n") == 1
    finally:
        writer.kill()
        writer.wait()


def test_a_quote_in_the_data_path_publishes_and_exports(built_warehouse: BuiltWarehouse, tmp_path: Path) -> None:
    from segmentation.publish.parquet_export import export_parquet

    folder = tmp_path / "o'brien's \"data\""
    published = publish(built_warehouse.path, folder / "published" / "warehouse.duckdb")
    export = export_parquet(published.published_path)

    digest = hashlib.sha256(published.published_path.read_bytes()).hexdigest()
    assert export.tables["dim_customer_segments"] > 1_000
    assert (export.current / "segment_reviews" / "data_0.parquet").is_file()
    assert hashlib.sha256(published.published_path.read_bytes()).hexdigest() == digest
