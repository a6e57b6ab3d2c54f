"""What keeps the dbt project portable to Spark and PostgreSQL (make portability runs the engines)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
POSTGRES_MAX_IDENTIFIER = 63


def _yaml_files() -> list[Path]:
    return sorted([*PROJECT_DIR.glob("models/**/*.yml"), *PROJECT_DIR.glob("seeds/*.yml")])


def _portability_run():
    spec = importlib.util.spec_from_file_location("portability_run", PROJECT_DIR / "portability" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_unit_test_names_fit_a_postgres_identifier():
    names = [
        test["name"]
        for path in _yaml_files()
        for test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests", [])
    ]
    assert names, "no unit tests found"
    too_long = [name for name in names if len(name) > POSTGRES_MAX_IDENTIFIER]
    assert not too_long, f"unit-test names over {POSTGRES_MAX_IDENTIFIER} characters break PostgreSQL: {too_long}"


def test_yaml_types_are_not_spelled_in_duckdb_only_names():
    # varchar without a length fails on Spark 4, double does not exist on PostgreSQL.
    # Model contracts (data_type) and seed column_types; the loader's contract meta (`type:`) is not SQL.
    contract_type = re.compile(r"^\s+data_type: (varchar|double)\s*$", re.MULTILINE)
    seed_type = re.compile(r"^\s+[a-z_]+: (varchar|double)\s*$", re.MULTILINE)
    offending = {
        str(path.relative_to(PROJECT_DIR)): (seed_type if path.parent.name == "seeds" else contract_type).findall(
            path.read_text()
        )
        for path in _yaml_files()
    }
    offending = {path: found for path, found in offending.items() if found}
    example = "{{ 'string' if target.type == 'spark' else 'text' }}"
    assert not offending, f"spell types per target ({example}): {offending}"


def test_compare_ignores_row_order_column_order_and_noise_beyond_six_places():
    run = _portability_run()
    reference = {"marts.m": (["id", "share"], [("a", 0.1 + 0.2), ("b", 0.5)])}
    engine = {"marts.m": (["share", "id"], [(0.5, "b"), (0.3, "a")])}
    assert run.compare(reference, engine) == {"marts.m": "identical"}


def test_compare_reports_a_changed_value_and_a_missing_mart():
    run = _portability_run()
    reference = {
        "marts.m": (["id", "share"], [("a", 0.25), ("b", 0.75)]),
        "marts.gone": (["id"], [("a",)]),
    }
    engine = {"marts.m": (["id", "share"], [("a", 0.25), ("b", 0.750002)]), "marts.gone": "cannot read: missing"}
    verdicts = run.compare(reference, engine)
    assert verdicts["marts.m"].startswith("1 of 2 rows differ")
    assert "share" in verdicts["marts.m"]
    assert verdicts["marts.gone"] == "cannot read: missing"


def test_no_model_divides_by_a_decimal_literal():
    # `days / 7.0` is a decimal division: Spark rounds it to 6 places and PostgreSQL to about 16
    # digits, so the CLV fits (which follow their inputs beyond 6 places) differed per engine.
    # Divide with the macro divide() (a double on every engine, the same bits everywhere).
    decimal_division = re.compile(r"/\s*[0-9]+\.[0-9]+")
    offending = {
        str(path.relative_to(PROJECT_DIR)): decimal_division.findall(
            "\n".join(line.split("--")[0] for line in path.read_text().splitlines())
        )
        for path in sorted([*PROJECT_DIR.glob("models/**/*.sql"), *PROJECT_DIR.glob("macros/**/*.sql")])
    }
    offending = {path: found for path, found in offending.items() if found}
    assert not offending, f"divide as doubles with {{{{ divide(x, y) }}}}: {offending}"


def _fits(*rows: tuple) -> tuple[list[str], list[tuple]]:
    columns = ["model_name", "fit_period", *("log_likelihood", "r", "alpha", "a", "b", "p", "q", "gamma")]
    return columns, list(rows)


def test_clv_parameters_must_be_equal_to_six_places_on_every_engine():
    run = _portability_run()
    duckdb = _fits(("bgnbd", "review", -119484.3896, 1.019474, 8.191515, 0.075664, 3.992222, None, None, None),
                   ("gamma_gamma", "review", -24962.316655, None, None, None, None, 0.632928, 6.375910, 2964.513430))
    noise = _fits(("bgnbd", "review", -119484.3896000001, 1.019474, 8.191515, 0.075664, 3.992222, None, None, None),
                  ("gamma_gamma", "review", -24962.316655, None, None, None, None, 0.632928, 6.375910, 2964.5134300004))
    # What Spark's 6-place decimal division of the fits' inputs did to gamma (see README).
    moved = _fits(("bgnbd", "review", -119484.3896, 1.019474, 8.191515, 0.075664, 3.992222, None, None, None),
                  ("gamma_gamma", "review", -24962.316656, None, None, None, None, 0.632928, 6.375908, 2964.511773))

    lines, equal = run._clv_parameter_lines({"duckdb": duckdb, "spark": noise})
    assert equal, "\n".join(lines)
    lines, equal = run._clv_parameter_lines({"duckdb": duckdb, "spark": moved})
    assert not equal and lines[-1].endswith("NO")
    assert not run._clv_parameter_lines({"duckdb": duckdb, "spark": _fits(duckdb[1][0])})[1], "a missing fit"
    assert not run._clv_parameter_lines({"duckdb": duckdb, "postgres": "cannot read: no such table"})[1]


def test_compare_ignores_when_a_row_was_loaded_but_not_where_from():
    # Spark's job loads the landing files itself: the same rows, files and lines, another load time.
    run = _portability_run()
    columns = ["id", "_source_line_number", "load_id", "_loaded_at"]
    reference = {"marts.fct": (columns, [("a", 2, "L1", "2026-12-01 00:40:00")])}
    same_rows = {"marts.fct": (columns, [("a", 2, "L7", "2026-12-01 00:59:00")])}
    other_line = {"marts.fct": (columns, [("a", 3, "L1", "2026-12-01 00:40:00")])}
    assert run.compare(reference, same_rows) == {"marts.fct": "identical"}
    assert run.compare(reference, other_line)["marts.fct"].startswith("1 of 1 rows differ")
