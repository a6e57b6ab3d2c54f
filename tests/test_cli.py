"""The CLI's contract with a person at a terminal: versions, vars checked up front, one-line errors."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from segmentation import cli
from segmentation.dbt_vars import VarsError, parse_vars, validate_vars


def test_version_names_the_installed_package(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("segmentation ") and out.split()[1][0].isdigit()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{review_date: \"2024-01-01'); drop table raw.orders; --\"}", "review_date must be a date"),
        ("{review_date: 2024-02-30}", "--vars is not valid YAML/JSON (day is out of range for month)"),
        ("{review_date: \"2024-02-30\"}", "review_date must be a date"),
        ("{reporting_currency: \"US'D\"}", "reporting_currency must be a three-letter"),
        ("{segment_default_routing_queue: \"standard' or 1=1 --\"}", "segment_default_routing_queue must be"),
        ("{review_type: monthly}", "review_type must be one of rolling, annual"),
        ("{clv_horizons_months: [12, \"36; drop\"]}", "must be a whole number"),
        ("{clv_holdout_weeks: 2.5}", "clv_holdout_weeks must be a whole number"),
        ("{review_dat: 2024-01-01}", "unknown dbt var 'review_dat'"),
        ("[1, 2]", "--vars must be a mapping"),
    ],
)
def test_a_var_of_the_wrong_name_or_shape_stops_before_dbt_runs(
    text: str, message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr("segmentation.dbt_runner.run_dbt", lambda args, *a, **k: calls.append(list(args)))

    assert cli.main(["build", "--vars", text]) == 1

    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert calls == []


def test_valid_vars_reach_dbt_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr("segmentation.dbt_runner.run_dbt", lambda args, *a, **k: calls.append(list(args)))

    given = "{review_date: 2025-06-30, clv_horizons_months: [9, 12, 36], clv_annual_discount_rate: 0.08}"
    assert cli.main(["build", "--select", "customer_clv", "--vars", given]) == 0

    assert calls == [["build", "--select", "customer_clv", "--vars",
                      '{"clv_annual_discount_rate": 0.08, "clv_horizons_months": [9, 12, 36], '
                      '"review_date": "2025-06-30"}']]


def test_vars_keep_their_checked_types() -> None:
    checked = validate_vars(parse_vars("{review_date: 2025-06-30, segment_rank_within_tenure_band: false, "
                                       "segment_value_prior_attributes: [service_plan]}"))
    assert checked == {"review_date": "2025-06-30", "segment_rank_within_tenure_band": False,
                       "segment_value_prior_attributes": ["service_plan"]}
    with pytest.raises(VarsError, match="must be a lowercase name"):
        validate_vars({"segment_value_prior_attributes": ["service_plan; drop"]})


def test_publish_refuses_vars_it_would_not_build_with(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["publish", "--skip-build", "--vars", "{review_date: 2025-06-30}"]) == 1
    assert "--vars applies to the build" in capsys.readouterr().err


def test_a_warehouse_locked_by_another_process_is_one_line_naming_that_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import duckdb, time; con = duckdb.connect({str(warehouse)!r}); print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        monkeypatch.setenv("SEGMENTATION_WAREHOUSE_PATH", str(warehouse))

        assert cli.main(["summary"]) == 1

        err = capsys.readouterr().err
        assert f"{warehouse} is in use by another process (PID {holder.pid}: " in err
        assert "wait for that process to finish" in err
        assert err.count("\n") == 1
    finally:
        holder.kill()
        holder.wait()


def test_debug_shows_the_traceback_instead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGMENTATION_WAREHOUSE_PATH", str(tmp_path / "missing" / "warehouse.duckdb"))
    started = time.monotonic()
    with pytest.raises(Exception):  # noqa: B017 - whatever the summary raises, --debug lets it through
        cli.main(["--debug", "summary"])
    assert time.monotonic() - started < 30
