"""CLI runs: Dagster sees what they built; a rerun with nothing new skips the work, any new load,
code, seed or var change rebuilds."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

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


RUN = ["run", "--customers", "1500", "--previous-review-months", "0"]


@dataclass(frozen=True)
class CliRun:
    data_dir: Path
    output: str


@pytest.fixture(scope="module")
def first_cli_run(tmp_path_factory: pytest.TempPathFactory, dbt_artifacts_dir: Path) -> Iterator[CliRun]:
    """One `segmentation run` on a small generated sample, its data folder kept for the next runs."""
    data_dir = tmp_path_factory.mktemp("cli_run") / "data"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEGMENTATION_DATA_DIR", str(data_dir))
        patch.delenv("DAGSTER_HOME", raising=False)
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            assert cli.main(RUN) == 0
        yield CliRun(data_dir, output.getvalue())


@pytest.mark.slow
def test_dagster_shows_every_asset_and_check_of_a_cli_run(first_cli_run: CliRun) -> None:
    import dagster as dg

    from orchestration.definitions import defs

    assert "Dagster: recorded" in first_cli_run.output
    graph = defs.resolve_asset_graph()
    with dg.DagsterInstance.from_config(str(first_cli_run.data_dir / "dagster_home")) as instance:
        never = [k for k in graph.get_all_asset_keys() if instance.get_latest_materialization_event(k) is None]
        evaluated = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(graph.asset_check_keys))
        gx = [key for key in evaluated if key.name.startswith("gx_")]

    assert never == []
    assert set(evaluated) == set(graph.asset_check_keys)
    assert len(gx) > 20


@pytest.mark.slow
def test_a_second_run_with_no_new_data_skips_the_build(
    first_cli_run: CliRun, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SEGMENTATION_DATA_DIR", str(first_cli_run.data_dir))
    assert "[4/5] dbt build" in first_cli_run.output and NOTHING_CHANGED not in first_cli_run.output

    assert cli.main(RUN) == 0
    second = capsys.readouterr().out
    assert NOTHING_CHANGED in second
    assert "dbt build" not in second

    # A landing file with new content is new data: the next run builds again (the loader
    # skips a file whose content it has loaded before, so a plain copy would not count).
    landing = first_cli_run.data_dir / "landing" / "products"
    source = next(p for p in landing.iterdir() if p.suffix == ".csv")
    header, first_row = source.read_text().splitlines()[:2]
    (landing / "products_resent.csv").write_text(f"{header}\n{first_row}\n")
    cli.main(RUN)
    assert NOTHING_CHANGED not in capsys.readouterr().out
