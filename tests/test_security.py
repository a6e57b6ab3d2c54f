"""No injection through configuration, and no secret in dbt's artefacts (issue 20).

- Every dbt var or environment value that lands in SQL goes through macros/sql_literal.sql
  (a static check of models/, macros/ and snapshots/).
- Vars that carry SQL, given straight to dbt (bypassing the CLI's own check), fail to
  compile: nothing of them runs, no file is written, no table dropped.
- Dagster run config with such a review date fails before dbt is called.
- The contact-key salt reaches SQL at run time (segmentation/dbt_secrets.py): it is in no
  compiled SQL, target/ artefact, dbt log or warehouse file, and the keys are still right.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from conftest import PROJECT_DIR, BuiltWarehouse, _copy_warehouse

from segmentation.dbt_runner import DbtFailed, run_dbt

SQL_FOLDERS = ("models", "macros", "snapshots")
# Lines where a var is only used by Jinja itself (never rendered into SQL as a value), with why.
JINJA_ONLY = {
    ("int_review_parameters.sql", "'review_date'"): "rendered through sql_literal further down",
    ("int_review_identified.sql", "'review_type'"): "compared in Jinja, rejected unless rolling or annual",
    ("int_segment_value_tiers_assigned.sql", "'segment_rank_within_tenure_band'"): "picks one of two fixed names",
    ("int_segment_value_tiers_assigned.sql", "= var("): "prior attributes: each goes through sql_name",
    ("policy.sql", "var('policy_scenarios'"): "proposed policy rows: each value goes through sql_literal",
}


def _var_lines() -> list[tuple[Path, int, str]]:
    found = []
    for folder in SQL_FOLDERS:
        for path in sorted((PROJECT_DIR / folder).rglob("*.sql")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if re.search(r"\b(env_)?var\(", line) and not line.lstrip().startswith(("--", "{#")):
                    found.append((path, number, line.strip()))
    return found


def test_every_config_value_enters_sql_through_the_quoting_macros() -> None:
    unchecked = []
    for path, number, line in _var_lines():
        if path.name == "sql_literal.sql" or "sql_literal(" in line or re.search(r"\|\s*(int\b|map\('int'\))", line):
            continue
        if path.name == "raw_zone.sql" and "raw_zone_dir" in path.read_text() and "return(env_var(" in line:
            continue  # the raw-zone folder: rendered only through raw_zone_string (quoted)
        if any(path.name == name and fragment in line for name, fragment in JINJA_ONLY):
            continue
        unchecked.append(f"{path.relative_to(PROJECT_DIR)}:{number}: {line}")
    assert unchecked == [], "render these through sql_literal (macros/sql_literal.sql):\n" + "\n".join(unchecked)
    # The check sees the lines it should: the currency is rendered in 9 places.
    assert sum("reporting_currency" in line for _, _, line in _var_lines()) >= 9


@pytest.fixture(scope="module")
def warehouse_copy(built_warehouse: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory):
    return _copy_warehouse(built_warehouse.path, tmp_path_factory.mktemp("injected") / "data")


@pytest.mark.parametrize(
    ("name", "value", "model", "message"),
    [
        ("review_date", "2024-01-01' as date), 1 from latest_order); {payload}", "int_review_parameters",
         "dbt var review_date must be a date YYYY-MM-DD"),
        ("reporting_currency", "USD'; {payload}", "stg_landing__orders",
         "dbt var reporting_currency must be a three-letter currency code"),
        ("segment_default_routing_queue", "standard'); {payload}", "customer_service_assignment",
         "dbt var segment_default_routing_queue must be a name"),
        ("segment_churn_high_p_alive_below", "0.5 then 1 end from x; {payload}", "int_segment_needs_assigned",
         "dbt var segment_churn_high_p_alive_below must be a number"),
        ("segment_value_prior_attributes", ["service_plan; {payload}"], "int_segment_value_tiers_assigned",
         "dbt var segment_value_prior_attributes must hold column names"),
    ],
    ids=lambda v: v if isinstance(v, str) and v.isidentifier() else "",
)
def test_vars_that_carry_sql_fail_to_compile_and_nothing_of_them_runs(
    warehouse_copy, name: str, value, model: str, message: str
) -> None:
    """Given to dbt directly (the CLI and Dagster would refuse them earlier), a var that would
    write a file and drop a view stops dbt while it renders the models: nothing runs."""
    marker = warehouse_copy.data_dir / f"pwned_{name}.csv"
    payload = f"copy (select 1) to '{marker}'; drop view raw.orders; --"
    injected = [v.format(payload=payload) for v in value] if isinstance(value, list) else value.format(payload=payload)
    with pytest.raises(DbtFailed) as failure:
        run_dbt(["run", "--select", model, "--vars", json.dumps({name: injected})], warehouse_copy)
    assert message in str(failure.value)
    assert not marker.exists()
    con = duckdb.connect(str(warehouse_copy.warehouse_path), read_only=True)
    try:
        assert con.execute("select count(*) from raw.orders").fetchone()[0] > 1_000
    finally:
        con.close()


def test_the_quoting_macro_keeps_quotes_inside_the_literal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A text with quotes and backslashes stays one literal on DuckDB (quotes doubled)."""
    from dbt.cli.main import dbtRunner

    from segmentation.dbt_runner import _release_warehouse

    monkeypatch.setenv("SEGMENTATION_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SEGMENTATION_WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("SEGMENTATION_RAW_DIR", str(tmp_path / "raw"))

    text = "it's \\' a \"test\""
    inline = f"select {{{{ sql_literal({json.dumps(text)}) }}}} as v, {{{{ sql_literal(0.25, 'number') }}}} as n"
    result = dbtRunner().invoke(["compile", "--quiet", "--inline", inline, "--project-dir", str(PROJECT_DIR),
                                 "--profiles-dir", str(PROJECT_DIR), "--target-path", str(tmp_path / "target")])
    _release_warehouse()
    compiled = result.result.results[0].node.compiled_code
    assert compiled == "select 'it''s \\'' a \"test\"' as v, 0.25 as n"
    assert duckdb.sql(compiled).fetchall() == [(text, 0.25)]


def test_dagster_run_config_with_sql_in_the_review_date_never_reaches_dbt(tmp_path: Path) -> None:
    from orchestration.defs.dagster_dbt_light import SubprocessDbtCliResource
    from orchestration.defs.dbt import DBT_EXECUTABLE, dbt_project, warehouse_dbt_assets
    from orchestration.defs.resources import SegmentationResource

    calls: list[list[str]] = []

    class RecordingDbt(SubprocessDbtCliResource):
        def cli(self, args, **kwargs):  # would run dbt
            calls.append(list(args))
            raise AssertionError("dbt must not run")

    result = dg.materialize(
        [warehouse_dbt_assets],
        resources={
            "dbt": RecordingDbt(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
            "segmentation": SegmentationResource(data_dir=str(tmp_path)),
        },
        run_config={"ops": {"warehouse_dbt_assets": {"config": {
            "review_date": "2024-01-01' as date); drop view raw.orders; --"}}}},
        raise_on_error=False,
    )
    assert not result.success
    assert calls == []
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "review_date must be a date YYYY-MM-DD" in str(failures[0].event_specific_data.error)


SECRET_SALT = "s3cret-salt-'with\"quotes-7f3a9c"


def test_the_salt_is_in_no_compiled_sql_artefact_log_or_warehouse_file(
    built_warehouse: BuiltWarehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _copy_warehouse(built_warehouse.path, tmp_path / "data")
    artefacts = tmp_path / "dbt"
    monkeypatch.setenv("DBT_TARGET_PATH", str(artefacts / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(artefacts / "logs"))
    monkeypatch.setenv("SEGMENTATION_CONTACT_KEY_SALT", SECRET_SALT)
    run_dbt(["run", "--select", "int_customer_contact_keys", "dim_customer_segments", "--log-level-file", "debug"],
            settings)
    run_dbt(["docs", "generate"], settings)

    files = [p for p in [*artefacts.rglob("*"), settings.warehouse_path] if p.is_file()]
    assert {"manifest.json", "run_results.json", "dbt.log", "int_customer_contact_keys.sql"} <= {p.name for p in files}
    leaks = [str(p) for p in files if SECRET_SALT.encode() in p.read_bytes()]
    assert leaks == []

    # ...and the keys are salted with it.
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        rows = con.execute(
            "select c.email, d.contact_key from marts.dim_customer_segments d"
            " join staging.stg_landing__customers c using (customer_id) where c.email is not null"
        ).fetchall()
    finally:
        con.close()
    assert len(rows) > 1_000
    assert all(key == hashlib.md5((SECRET_SALT + email.strip().lower()).encode()).hexdigest() for email, key in rows)
