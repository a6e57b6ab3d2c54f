"""No model's query plan compares every row with every row.

A nested-loop join (NESTED_LOOP_JOIN, BLOCKWISE_NL_JOIN) or a cross product between two
inputs of many rows grows with the product of their sizes: int_customer_rfm_summarized once
took 0.3 s at 10k customers and ~18 minutes at 1M because a LEFT JOIN's ON clause held a
predicate on the left side only. Every compiled SQL model of the session's sample warehouse
is run with EXPLAIN ANALYZE, and each such join must have an input of at most
SMALL_SIDE_MAX_ROWS rows (one-row parameter tables such as int_review_parameters, the two
as-of dates of the RFM summary).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from conftest import BuiltWarehouse

from segmentation.dbt_runner import run_dbt

QUADRATIC_OPERATORS = frozenset({"NESTED_LOOP_JOIN", "BLOCKWISE_NL_JOIN", "CROSS_PRODUCT"})
# The largest side that keeps such a join linear in practice: review parameters (1 row),
# the RFM summary's as-of dates (2), a review's reporting periods or months (a few dozen).
SMALL_SIDE_MAX_ROWS = 100


@dataclass(frozen=True)
class QuadraticJoin:
    operator: str
    child_rows: tuple[int, ...]


def quadratic_joins(con: duckdb.DuckDBPyConnection, sql: str) -> list[QuadraticJoin]:
    """Run `sql` under EXPLAIN ANALYZE; list its nested-loop joins and cross products whose
    every input has more than SMALL_SIDE_MAX_ROWS rows."""
    plan_json = con.execute(f"explain (analyze, format json) {sql}").fetchall()[0][1]
    found: list[QuadraticJoin] = []

    def walk(node: dict) -> None:
        children = node.get("children", [])
        operator = node.get("operator_type", "")
        if operator in QUADRATIC_OPERATORS:
            child_rows = tuple(int(child.get("operator_cardinality", 0)) for child in children)
            if child_rows and min(child_rows) > SMALL_SIDE_MAX_ROWS:
                found.append(QuadraticJoin(operator, child_rows))
        for child in children:
            walk(child)

    walk(json.loads(plan_json))
    return found


@pytest.fixture(scope="module")
def compiled_models(built_warehouse: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Compiled SQL of every SQL model (not ephemeral) of the built sample warehouse, by name."""
    target = tmp_path_factory.mktemp("plans_target")
    run_dbt(["compile", "--quiet", "--target-path", str(target)], built_warehouse.settings)
    manifest = json.loads(Path(target, "manifest.json").read_text())
    return {
        node["name"]: node["compiled_code"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["language"] == "sql"
        and node["config"]["materialized"] != "ephemeral"
        and node.get("compiled_code")
    }


def test_no_model_plans_a_quadratic_join(built_warehouse: BuiltWarehouse, compiled_models: dict[str, str]) -> None:
    assert len(compiled_models) > 50  # every SQL model, not a handful
    con = duckdb.connect(str(built_warehouse.path), read_only=True)
    try:
        offenders = {
            name: joins for name, sql in sorted(compiled_models.items()) if (joins := quadratic_joins(con, sql))
        }
    finally:
        con.close()
    assert offenders == {}, (
        "nested-loop joins / cross products between large inputs (rewrite the join on equality keys; "
        f"move one-sided predicates out of a LEFT JOIN's ON clause): {offenders}"
    )


def test_the_check_catches_the_rfm_join_that_was_quadratic(built_warehouse: BuiltWarehouse) -> None:
    # The join int_customer_rfm_summarized had before it was fixed: summary_type, a column of
    # the left side only, in the LEFT JOIN's ON clause.
    bad_join = """
        select rfm.customer_id, holdout.holdout_purchases
        from intermediate.int_customer_rfm_summarized as rfm
        left join (
            select customer_id, holdout_purchases
            from intermediate.int_customer_rfm_summarized
            where summary_type = 'calibration'
        ) as holdout
            on rfm.summary_type = 'calibration'
            and rfm.customer_id = holdout.customer_id
    """
    fixed_join = bad_join.replace("on rfm.summary_type = 'calibration'\n            and ", "on ")
    con = duckdb.connect(str(built_warehouse.path), read_only=True)
    try:
        caught = quadratic_joins(con, bad_join)
        assert [join.operator for join in caught] == ["BLOCKWISE_NL_JOIN"]
        assert quadratic_joins(con, fixed_join) == []
    finally:
        con.close()
