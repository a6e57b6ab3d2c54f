"""CLI runs: Dagster sees what they built; a rerun with nothing new skips the work, any new load,
code, seed or var change rebuilds."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CLI_RUN_ARGS, CliRun

from segmentation import cli
from segmentation.config import Settings
from segmentation.ingest.raw_zone import MANIFEST
from segmentation.run_state import record_publish, run_inputs, unchanged_since_last_publish

NOTHING_CHANGED = "nothing changed since the publish of"


@pytest.fixture
def small_project(tmp_path: Path) -> Settings:
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "m.sql").write_text("select 1 as x")
    (project / "dbt_project.yml").write_text("name: p\n")
    data = tmp_path / "data"
    (data / "raw" / MANIFEST).mkdir(parents=True)
    (data / "raw" / MANIFEST / "20260101T000000Z-aaaa.parquet").write_bytes(b"x")
    (data / "published").mkdir()
    return Settings.from_env({"SEGMENTATION_PROJECT_DIR": str(project), "SEGMENTATION_DATA_DIR": str(data)})


def test_the_same_inputs_give_the_same_fingerprint(small_project: Settings) -> None:
    assert run_inputs(small_project, {"a": 1}) == run_inputs(small_project, {"a": 1})


@pytest.mark.parametrize("change", ["model", "load", "vars", "salt"])
def test_each_input_changes_the_fingerprint(small_project: Settings, change: str, monkeypatch) -> None:
    before = run_inputs(small_project, {"a": 1})
    dbt_vars = {"a": 1}
    if change == "model":
        (small_project.project_dir / "models" / "m.sql").write_text("select 2 as x")
    elif change == "load":
        (small_project.raw_dir / MANIFEST / "20260102T000000Z-bbbb.parquet").write_bytes(b"x")
    elif change == "vars":
        dbt_vars = {"a": 2}
    else:
        monkeypatch.setenv("SEGMENTATION_CONTACT_KEY_SALT", "another secret")

    assert run_inputs(small_project, dbt_vars).fingerprint != before.fingerprint


def test_a_publish_by_another_path_invalidates_the_record(small_project: Settings) -> None:
    small_project.published_path.write_bytes(b"first")
    inputs = run_inputs(small_project, {})
    record_publish(small_project, inputs)
    assert unchanged_since_last_publish(small_project, inputs)

    replacement = small_project.published_path.with_name("new.duckdb")
    replacement.write_bytes(b"second build")
    replacement.replace(small_project.published_path)  # how every publish swaps the file in

    assert unchanged_since_last_publish(small_project, inputs) is None


@pytest.mark.slow
def test_dagster_shows_every_asset_and_check_of_a_cli_run(cli_run: CliRun) -> None:
    import dagster as dg

    from orchestration.definitions import defs

    assert "Dagster: recorded" in cli_run.output
    graph = defs.resolve_asset_graph()
    # The annual review is materialized per fiscal year by its own job, never by a CLI run.
    keys = [k for k in graph.get_all_asset_keys() if graph.get(k).partitions_def is None]
    checks = [c for c in graph.asset_check_keys if graph.get(c.asset_key).partitions_def is None]
    with dg.DagsterInstance.from_config(str(cli_run.data_dir / "dagster_home")) as instance:
        never = [k for k in keys if instance.get_latest_materialization_event(k) is None]
        evaluated = instance.event_log_storage.get_latest_asset_check_execution_by_key(checks)
        gx = [key for key in evaluated if key.name.startswith("gx_")]

    assert len(keys) > 70 and never == []
    assert set(evaluated) == set(checks)
    assert len(gx) > 20


@pytest.mark.slow
def test_a_second_run_with_no_new_data_skips_the_build(
    cli_run: CliRun, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("SEGMENTATION_LANDING_DIR", "SEGMENTATION_RAW_DIR", "SEGMENTATION_WAREHOUSE_PATH",
                 "SEGMENTATION_PUBLISHED_PATH", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SEGMENTATION_DATA_DIR", str(cli_run.data_dir))
    assert "[4/5] dbt build" in cli_run.output and NOTHING_CHANGED not in cli_run.output

    assert cli.main(CLI_RUN_ARGS) == 0
    second = capsys.readouterr().out
    assert NOTHING_CHANGED in second
    assert "dbt build" not in second

    # A landing file with new content is new data: the next run builds again (the loader
    # skips a file whose content it has loaded before, so a plain copy would not count).
    landing = cli_run.data_dir / "landing" / "products"
    source = next(p for p in landing.iterdir() if p.suffix == ".csv")
    header, first_row = source.read_text().splitlines()[:2]
    (landing / "products_resent.csv").write_text(f"{header}\n{first_row}\n")
    cli.main(CLI_RUN_ARGS)
    assert NOTHING_CHANGED not in capsys.readouterr().out
