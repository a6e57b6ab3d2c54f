"""The service-policy what-if and the service attach rate.

The numbers are pinned by dbt's unit tests (models/marts/policy/_policy__unit_tests.yml: one
customer moved to self-service and one granted an account manager, computed by hand) and by
the singular tests tests/dbt/assert_policy_*.sql (the current policy changes nothing, ranges
are ordered, segments add up to the scenario), which every `dbt build` runs. Here: the proposed
policy files (one-line errors naming file, row and column), the var check, the sample's
figures recomputed independently from the seeds, `segmentation simulate` end to end, and that
the checks fail when the logic breaks.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from segmentation.config import Settings
from segmentation.dbt_runner import DbtFailed, run_dbt
from segmentation.dbt_vars import VarsError, validate_vars
from segmentation.policy.scenarios import POLICY_COLUMNS, PolicyFileError, read_policy_file

PROJECT_DIR = Path(__file__).resolve().parent.parent
EXAMPLE = PROJECT_DIR / "examples" / "move_bronze_to_self_service.csv"
SEEDED_BRONZE_SCENARIO = "bronze to self-service"


def _policy_rows() -> list[dict[str, str]]:
    with EXAMPLE.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    columns = columns or list(POLICY_COLUMNS)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


# --- proposed policy files -----------------------------------------------------------------


def test_the_example_policy_reads_as_one_named_scenario() -> None:
    rows = read_policy_file(EXAMPLE, "bronze, proposed")
    assert len(rows) == 10
    assert {row["scenario"] for row in rows} == {"bronze, proposed"}
    bronze = next(row for row in rows if row["segment"] == "bronze")
    assert (bronze["service_level"], bronze["routing_queue"]) == ("self_service", "self_service")
    assert {row["scenario"] for row in read_policy_file(EXAMPLE)} == {"move_bronze_to_self_service"}


@pytest.mark.parametrize(
    ("column", "value", "row_index", "message"),
    [
        ("service_level", "gold_plus", 3, "must be empty or one of self_service"),
        ("entitlement_rank", "forty", 1, "must be a whole number"),
        ("sla_first_response_hours", "-4", 0, "must not be negative"),
        ("allowed_channels", "phone;fax", 2, "unknown channel 'fax'"),
        ("dedicated_account_manager", "yes", 4, "must be true, false or empty"),
        ("routing_queue", "vip", 0, "must be empty or one of senior_agents"),
        ("segment_family", "vip_club", 5, "must be one of value_tier"),
        ("segment", "", 2, "required"),
    ],
)
def test_a_bad_value_is_one_line_naming_file_row_and_column(
    tmp_path: Path, column: str, value: str, row_index: int, message: str
) -> None:
    rows = _policy_rows()
    rows[row_index][column] = value
    path = _write(tmp_path / "proposed.csv", rows)
    with pytest.raises(PolicyFileError) as caught:
        read_policy_file(path, "proposal")
    text = str(caught.value)
    assert "\n" not in text
    # the header is row 1, so the first data row is row 2
    assert text.startswith(f"{path}, row {row_index + 2}, column {column} ({value!r}): "), text
    assert message in text


def test_a_segment_given_twice_names_both_rows(tmp_path: Path) -> None:
    rows = _policy_rows()
    rows.append(dict(rows[1]))
    path = _write(tmp_path / "proposed.csv", rows)
    with pytest.raises(PolicyFileError, match=r"row 12, column segment .*\(row 3\)"):
        read_policy_file(path, "proposal")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda cols: [c for c in cols if c != "routing_queue"], r"row 1: missing column\(s\) routing_queue"),
        (lambda cols: [*cols, "discount"], r"row 1, column 15 \(discount\): not a column"),
    ],
)
def test_a_bad_header_names_the_column(tmp_path: Path, mutate, message: str) -> None:
    path = _write(tmp_path / "proposed.csv", _policy_rows(), mutate(list(POLICY_COLUMNS)))
    with pytest.raises(PolicyFileError, match=message):
        read_policy_file(path, "proposal")


def test_a_name_taken_by_a_shipped_scenario_or_the_current_policy_is_refused(tmp_path: Path) -> None:
    for taken in (SEEDED_BRONZE_SCENARIO, "current policy"):
        with pytest.raises(PolicyFileError, match=r"row 2, column scenario .*the name is taken"):
            read_policy_file(EXAMPLE, taken)


def test_an_empty_or_non_utf8_file_says_what_to_do(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(PolicyFileError, match=r"empty file; copy seeds/service_policy\.csv"):
        read_policy_file(empty)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(EXAMPLE.read_bytes().replace(b"Standard service", b"St\xe9ndard service"))
    with pytest.raises(PolicyFileError, match=r"not UTF-8 text .*save the CSV as UTF-8"):
        read_policy_file(latin1)


def test_the_policy_var_is_checked_like_a_file() -> None:
    rows = [dict(row, scenario="proposal") for row in _policy_rows()]
    assert validate_vars({"policy_scenarios": rows})["policy_scenarios"][0]["scenario"] == "proposal"
    rows[3]["service_level"] = "gold_plus"
    with pytest.raises(VarsError, match="dbt var policy_scenarios, row 4, column service_level"):
        validate_vars({"policy_scenarios": rows})
    with pytest.raises(VarsError, match="must be a list of policy rows"):
        validate_vars({"policy_scenarios": "select 1"})


# --- the what-if on the sample -------------------------------------------------------------


def _query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_the_current_policy_changes_nothing_and_costs_nothing(built_warehouse) -> None:
    rows = built_warehouse.query(
        "select affected_customers, cost_to_serve_change_central, savings_low, savings_high,"
        " margin_at_risk_low, margin_at_risk_high, net_effect_low, net_effect_high, customers"
        " from marts.policy_scenarios where scenario = 'current policy'"
    )
    assert len(rows) == 1
    *effects, customers = rows[0]
    assert all(value == 0 for value in effects) and customers > 0
    assert built_warehouse.scalar(
        "select count(*) from marts.policy_scenario_customers where scenario = 'current policy'") == 0


@pytest.mark.slow
def test_moving_bronze_to_self_service_recomputed_from_the_seeds(built_warehouse) -> None:
    """The shipped bronze scenario, recomputed here from the assignment, the costed activities
    and the assumption seed without the marts' SQL: who is affected, the yearly cost change
    and the central margin at risk."""
    expected = built_warehouse.query(
        """
        with bronze as (
            select assignment.customer_id, assignment.routing_queue, profiles.predicted_clv
            from marts.customer_service_assignment as assignment
            join intermediate.int_segment_customers_profiled as profiles using (customer_id)
            where assignment.service_level_source = 'value_tier:bronze'
        ),
        shares as (
            select applies_to as support_channel, value_central as share
            from seeds.policy_assumptions where assumption = 'contact_shift_share'
        ),
        self_service as (
            select sum(cost) / count(distinct activity_id) as cost_per_ticket
            from intermediate.int_cost_to_serve_activities_costed
            where activity in ('support_minutes', 'escalation') and support_channel = 'self_service'
              and activity_date >= (select rolling_window_start from intermediate.int_review_parameters)
        ),
        tickets as (
            select customer_id, support_channel, count(distinct activity_id) as tickets, sum(cost) as cost
            from intermediate.int_cost_to_serve_activities_costed
            where activity in ('support_minutes', 'escalation')
              and activity_date >= (select rolling_window_start from intermediate.int_review_parameters)
            group by all
        ),
        -- routed to self-service: phone, chat and email move; kept in their queue (retention,
        -- onboarding): only email moves, the channel bronze loses
        moved as (
            select sum(shares.share * (tickets.cost - tickets.tickets * self_service.cost_per_ticket)) as saving
            from bronze
            join tickets using (customer_id)
            join shares using (support_channel)
            cross join self_service
            where bronze.routing_queue = 'standard' or tickets.support_channel = 'email'
        )
        select
            (select count(*) from bronze),
            (select count(*) from bronze where routing_queue = 'standard'),
            -(select saving from moved),
            (select sum(predicted_clv) * 0.03 from bronze)
        """
    )[0]
    actual = built_warehouse.query(
        f"""
        select affected_customers, routed_to_self_service, cost_to_serve_change_central, margin_at_risk_central
        from marts.policy_scenarios where scenario = '{SEEDED_BRONZE_SCENARIO}'
        """
    )[0]
    assert actual[0] == expected[0] > 100
    assert actual[1] == expected[1] > 0
    assert float(actual[2]) == pytest.approx(expected[2], abs=0.01) and expected[2] < 0
    assert float(actual[3]) == pytest.approx(expected[3], abs=0.01) and expected[3] > 0


@pytest.mark.slow
def test_attach_rate_counts_the_contracts_running_on_the_review_date(built_warehouse) -> None:
    expected = dict(built_warehouse.query(
        """
        select tiers.value_tier, count(*) filter (where profiles.service_plan <> 'none')
        from intermediate.int_segment_value_tiers_assigned as tiers
        join intermediate.int_segment_customers_profiled as profiles using (customer_id)
        group by all
        """
    ))
    rows = built_warehouse.query(
        "select segment, contract_customers, attach_rate, customers, contract_revenue from marts.segment_economics"
        " where segment_family = 'value_tier'"
    )
    assert {segment: contracts for segment, contracts, *_ in rows} == expected
    assert sum(expected.values()) > 0
    for _, contracts, attach_rate, customers, _ in rows:
        assert attach_rate == pytest.approx(contracts / customers)
    revenue = built_warehouse.scalar(
        "select sum(contract_revenue) from intermediate.int_service_contract_revenues_allocated"
        " where period_type like 'rolling%'"
    )
    assert sum(float(row[4]) for row in rows) == pytest.approx(revenue, abs=0.01)


# --- segmentation simulate -----------------------------------------------------------------


@pytest.fixture(scope="module")
def simulated(built_warehouse, tmp_path_factory: pytest.TempPathFactory):
    """`segmentation simulate --policy examples/... ` on a copy of the session warehouse."""
    import contextlib
    import io

    from conftest import _copy_warehouse

    from segmentation import cli

    settings = _copy_warehouse(built_warehouse.path, tmp_path_factory.mktemp("simulate"))
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        for name in ("SEGMENTATION_LANDING_DIR", "SEGMENTATION_RAW_DIR", "SEGMENTATION_PUBLISHED_PATH"):
            patch.delenv(name, raising=False)
        patch.setenv("SEGMENTATION_DATA_DIR", str(settings.data_dir))
        patch.setenv("SEGMENTATION_WAREHOUSE_PATH", str(settings.warehouse_path))
        with contextlib.redirect_stdout(output):
            code = cli.main(["simulate", "--policy", str(EXAMPLE), "--name", "proposed bronze"])
    return settings, code, output.getvalue()


@pytest.mark.slow
def test_simulate_prints_the_impact_table_and_writes_the_marts(simulated) -> None:
    settings, code, output = simulated
    assert code == 0, output[-2000:]
    assert "proposed bronze" in output and "current policy" in output and "By value tier:" in output
    # the file holds the same policy as the shipped bronze scenario: the same figures
    rows = _query(settings.warehouse_path, f"""
        select scenario, scenario_source, affected_customers, savings_central, margin_at_risk_central
        from marts.policy_scenarios where scenario in ('proposed bronze', '{SEEDED_BRONZE_SCENARIO}')
        order by scenario
    """)
    assert [row[1] for row in rows] == ["seed service_policy_scenarios", "var policy_scenarios"]
    assert rows[0][2:] == rows[1][2:] and rows[0][2] > 0


@pytest.mark.slow
def test_a_policy_value_that_looks_like_sql_stays_text(simulated) -> None:
    """Every value of a proposed policy reaches SQL through sql_literal: quotes and SQL are data."""
    import json

    settings, *_ = simulated
    segment = "gold'); drop table marts.customer_clv; --"
    rows = [dict(row, scenario="quoted", segment=segment if row["segment"] == "gold" else row["segment"])
            for row in _policy_rows()]
    run_dbt(["run", "--select", "int_policy_scenarios_defined", "--vars", json.dumps({"policy_scenarios": rows})],
            settings)
    assert _query(settings.warehouse_path, "select segment from intermediate.int_policy_scenarios_defined"
                  " where scenario = 'quoted' and segment like 'gold%'") == [(segment,)]
    assert _query(settings.warehouse_path, "select count(*) from marts.customer_clv")[0][0] > 0


def test_simulate_refuses_a_bad_file_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from segmentation import cli

    rows = _policy_rows()
    rows[0]["routing_precedence"] = "1st"
    path = _write(tmp_path / "proposed.csv", rows)
    assert cli.main(["simulate", "--policy", str(path)]) == 1
    error = capsys.readouterr().err.strip()
    assert error == (f"error: {path}, row 2, column routing_precedence ('1st'): must be a whole number")


# --- the checks fail when the logic breaks -------------------------------------------------


def _mutated_project(tmp_path: Path, replacements: dict[str, tuple[str, str]]) -> Path:
    project = tmp_path / "project"
    project.mkdir(parents=True)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(PROJECT_DIR / name, project / name)
    for folder in ("models", "macros", "seeds", "snapshots"):
        shutil.copytree(PROJECT_DIR / folder, project / folder)
    shutil.copytree(PROJECT_DIR / "tests" / "dbt", project / "tests" / "dbt")
    for relative, (old, new) in replacements.items():
        path = project / relative
        text = path.read_text()
        assert old in text, (relative, old)
        path.write_text(text.replace(old, new, 1))
    return project


@pytest.mark.slow
def test_the_identity_and_unit_tests_fail_when_the_what_if_breaks(
    built_warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import _copy_warehouse

    copied = _copy_warehouse(built_warehouse.path, tmp_path / "data")
    customers_model = "models/marts/policy/policy_scenario_customers.sql"
    # 1. the scenario engine's precedence reversed: the current policy no longer reproduces
    #    today's assignment, so the identity test fails
    project = _mutated_project(tmp_path / "precedence", {
        customers_model: ("order by entitlement_rank desc, cost_to_serve_budget_per_year desc",
                          "order by entitlement_rank asc, cost_to_serve_budget_per_year desc"),
    })
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target_precedence"))
    settings = Settings.from_env({
        "SEGMENTATION_PROJECT_DIR": str(project),
        "SEGMENTATION_DATA_DIR": str(copied.data_dir),
        "SEGMENTATION_WAREHOUSE_PATH": str(copied.warehouse_path),
    })
    with pytest.raises(DbtFailed) as caught:
        run_dbt(["build", "--select", "policy_scenario_customers+", "--exclude", "test_type:unit"], settings)
    failed = {r.unique_id.split(".")[-1] for r in caught.value.results if r.status == "fail"}
    assert "assert_policy_current_policy_changes_nothing" in failed
    # 2. a moved contact no longer nets the self-service ticket it becomes: the hand-computed
    #    unit test fails
    project = _mutated_project(tmp_path / "saving", {
        customers_model: ("- coalesce(customer_channels.{{ channel }}_tickets, 0) * coalesce(", "+ 0 * coalesce("),
    })
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target_saving"))
    settings = Settings.from_env({
        "SEGMENTATION_PROJECT_DIR": str(project),
        "SEGMENTATION_DATA_DIR": str(copied.data_dir),
        "SEGMENTATION_WAREHOUSE_PATH": str(copied.warehouse_path),
    })
    with pytest.raises(DbtFailed) as caught:
        run_dbt(["test", "--select", "policy_scenario_customers,test_type:unit"], settings)
    failed = {r.unique_id.split(".")[-1] for r in caught.value.results if r.status == "fail"}
    assert failed == {"test_policy_self_service_move_and_manager_grant",
                      "test_policy_savings_recur_over_the_clv_horizon"}


def test_dagster_run_config_takes_a_policy_file_checked_like_the_cli(tmp_path: Path) -> None:
    import json

    from orchestration.defs.dbt import DbtBuildConfig, dbt_build_args

    assert dbt_build_args(DbtBuildConfig()) == ["build", "--indirect-selection", "cautious"]
    args = dbt_build_args(DbtBuildConfig(policy_file=str(EXAMPLE), policy_name="from dagster", full_refresh=True))
    assert args[:4] == ["build", "--indirect-selection", "cautious", "--vars"] and args[5:] == ["--full-refresh"]
    rows = json.loads(args[4])["policy_scenarios"]
    assert len(rows) == 10 and {row["scenario"] for row in rows} == {"from dagster"}
    bad = _policy_rows()
    bad[0]["concierge"] = "maybe"
    with pytest.raises(PolicyFileError, match=r"row 2, column concierge \('maybe'\)"):
        dbt_build_args(DbtBuildConfig(policy_file=str(_write(tmp_path / "bad.csv", bad))))
