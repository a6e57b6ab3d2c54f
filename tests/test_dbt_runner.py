"""The dbt runner's console output: a few progress lines per dbt command, not one per node."""

from __future__ import annotations

from types import SimpleNamespace

from segmentation.dbt_runner import _NodeCounter


def _event(name: str, index: int, total: int, status: str = "success") -> SimpleNamespace:
    data = SimpleNamespace(index=index, total=total, status=status)
    return SimpleNamespace(info=SimpleNamespace(name=name), data=data)


def test_a_400_node_build_prints_one_line_per_quarter_with_failures_counted() -> None:
    lines: list[str] = []
    counter = _NodeCounter("dbt build", lines.append, interactive=False)
    for index in range(1, 401):
        counter(_event("LogStartLine", index, 400))  # start lines are not results: not counted
        counter(_event("LogModelResult", index, 400, status="error" if index == 7 else "success"))

    assert len(lines) == 4
    assert [line.split(" (")[0] for line in lines] == [
        "dbt build: 100/400 nodes, 1 failed",
        "dbt build: 200/400 nodes, 1 failed",
        "dbt build: 300/400 nodes, 1 failed",
        "dbt build: 400/400 nodes, 1 failed",
    ]


def test_test_results_count_against_their_num_models_total() -> None:
    lines: list[str] = []
    counter = _NodeCounter("dbt build", lines.append, interactive=False)
    for index in range(1, 5):
        counter(SimpleNamespace(info=SimpleNamespace(name="LogTestResult"),
                                data=SimpleNamespace(index=index, num_models=4, status="pass")))
    assert lines[-1].startswith("dbt build: 4/4 nodes (")


def test_running_dbt_leaves_the_callers_environment_as_it_was(tmp_path, monkeypatch) -> None:
    import os

    from segmentation.config import Settings
    from segmentation.dbt_runner import run_dbt

    monkeypatch.delenv("SEGMENTATION_WAREHOUSE_PATH", raising=False)
    settings = Settings.from_env({"SEGMENTATION_DATA_DIR": str(tmp_path)})
    seen: dict[str, str | None] = {}

    class FakeRunner:
        def __init__(self, callbacks):
            pass

        def invoke(self, args):
            seen["during"] = os.environ.get("SEGMENTATION_WAREHOUSE_PATH")
            from types import SimpleNamespace

            return SimpleNamespace(success=True)

    monkeypatch.setattr("dbt.cli.main.dbtRunner", FakeRunner)
    run_dbt(["parse"], settings)

    assert seen["during"] == str(settings.warehouse_path)
    assert "SEGMENTATION_WAREHOUSE_PATH" not in os.environ
