"""The benchmark harness keeps working: its baselines compute what the marts hold, and a run at
a tiny size reports every stage. Speed targets are not asserted here (they live in bench/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PROJECT_DIR, BuiltWarehouse

sys.path.insert(0, str(PROJECT_DIR / "bench"))
import baselines
import pipeline

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def marts(built_warehouse: BuiltWarehouse):
    return baselines.read_marts(built_warehouse.path)


@pytest.fixture(scope="module")
def sql_results(built_warehouse: BuiltWarehouse):
    con = baselines.open_raw(built_warehouse.settings.data_dir)
    try:
        return baselines.sql_baseline(con)
    finally:
        con.close()


def test_sql_baseline_equals_the_marts(sql_results, marts) -> None:
    assert len(sql_results["value_tiers"]) > 1000
    assert baselines.check_against_marts(sql_results, marts) == []


def test_pandas_baseline_equals_the_marts(built_warehouse: BuiltWarehouse, marts) -> None:
    con = baselines.open_raw(built_warehouse.settings.data_dir)
    try:
        results = baselines.pandas_baseline(con)
    finally:
        con.close()
    assert len(results["rfm_summary"]) > 1000
    assert baselines.check_against_marts(results, marts) == []


def test_the_check_catches_a_baseline_that_computes_something_else(sql_results, marts) -> None:
    wrong = {name: frame.copy() for name, frame in sql_results.items()}
    tiers = wrong["value_tiers"]
    tiers.loc[tiers.index[0], "value_tier"] = "silver" if tiers["value_tier"].iloc[0] != "silver" else "gold"
    profits = wrong["rolling_profitability"]
    profits["net_profit"] = profits["net_profit"].astype(float)
    profits.loc[profits.index[0], "net_profit"] += 0.02  # two cents: beyond the one-cent rounding
    wrong["rfm_summary"] = wrong["rfm_summary"].iloc[1:]

    problems = baselines.check_against_marts(wrong, marts)

    assert any(p.startswith("value_tiers.value_tier: 1 of") for p in problems)
    assert any(p.startswith("rolling_profitability.net_profit: 1 of") for p in problems)
    assert any(p.startswith("rfm_summary: 1 keys in only one side") for p in problems)


def test_the_harness_runs_every_stage_at_a_tiny_size(tmp_path: Path) -> None:
    results = tmp_path / "results"
    completed = subprocess.run(
        [
            sys.executable,
            str(PROJECT_DIR / "bench" / "pipeline.py"),
            "--sizes",
            "1000",
            "--repeat",
            "1",
            "--workdir",
            str(tmp_path / "data"),
            "--results",
            str(results),
            "--docs",
            str(tmp_path / "benchmarks.md"),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    (path,) = results.glob("*.json")
    run = json.loads(path.read_text())
    (size,) = run["sizes"]
    stages = size["stages"]
    assert set(stages) == set(pipeline.STAGE_NAMES)
    assert all(stage["seconds"] > 0 and stage["peak_rss_mb"] > 0 for stage in stages.values())
    assert stages["baseline_sql"]["equal_to_marts"] and stages["baseline_pandas"]["equal_to_marts"]
    assert stages["refresh_check"]["equal_to_marts"], "the refreshed marts miss rows of the 1% delta"
    assert stages["refresh_delta"]["rows"]["orders"] > 0
    assert run["machine"]["cores"] and run["machine"]["versions"]["duckdb"]
    page = (tmp_path / "benchmarks.md").read_text()
    assert "core dbt selection, from scratch (`--full-refresh`), <= 1.5x baseline (a)" in page
