"""A rerun with nothing new skips the work; any new load, code, seed or var change rebuilds."""

from __future__ import annotations

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


@pytest.mark.slow
def test_a_second_run_with_no_new_data_skips_the_build(
    tmp_path: Path, dbt_artifacts_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SEGMENTATION_DATA_DIR", str(tmp_path / "data"))
    assert cli.main(["run", "--customers", "1500", "--previous-review-months", "0"]) == 0
    first = capsys.readouterr().out
    assert "[4/5] dbt build" in first and NOTHING_CHANGED not in first

    assert cli.main(["run", "--customers", "1500", "--previous-review-months", "0"]) == 0
    second = capsys.readouterr().out
    assert NOTHING_CHANGED in second
    assert "dbt build" not in second

    # A landing file with new content is new data: the next run builds again (the loader
    # skips a file whose content it has loaded before, so a plain copy would not count).
    landing = tmp_path / "data" / "landing" / "products"
    source = next(p for p in landing.iterdir() if p.suffix == ".csv")
    header, first_row = source.read_text().splitlines()[:2]
    (landing / "products_resent.csv").write_text(f"{header}\n{first_row}\n")
    cli.main(["run", "--customers", "1500", "--previous-review-months", "0"])
    assert NOTHING_CHANGED not in capsys.readouterr().out
