"""Two clean builds of the same landing files give the same marts (issue 20).

The session warehouse and a second one built from scratch (new raw zone, new warehouse,
`dbt build` with the CLV step between its two parts) from the same landing files are
compared table by table, every column, doubles included, bit for bit, as multisets of rows
(columns that record when or from where a run happened are left out).

What is not bit-identical, measured: a few doubles that are sums or means over many rows
(DuckDB aggregates doubles in parallel, so the order of the additions, and with it the last
bits, depends on thread scheduling). They are listed in UNSTABLE_DOUBLES and compared to 1e-9
relative instead; any other column that differs fails the test, and so does an unstable
column that differs by more than rounding. The published file is not byte-identical either:
besides these bits, its `_publish` row records when and from which file it was published,
and DuckDB's block layout is not canonical.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import duckdb
import pytest
from conftest import BuiltWarehouse, settings_for

from segmentation.ingest.load import load_landing
from segmentation.pipeline import dbt_build_with_clv

pytestmark = pytest.mark.slow

VOLATILE = re.compile(r"(_at$|_load_id$|^load_id$|source_file|file_path|invocation|^dbt_)")
# Doubles aggregated in parallel (sum / avg over customers): the last bits may differ.
UNSTABLE_DOUBLES = {
    "marts.dim_customer_segments": {"value_score", "lookalike_score"},
    "marts.segment_economics": {"avg_predicted_clv"},
    "marts.segment_movers": {"from_value_score", "to_value_score", "value_score_change"},
    "marts.segment_review_history": {"value_score"},
    "marts.customer_review_current": {"value_score"},
    "marts.segment_reviews": {"predicted_clv"},
}


@pytest.fixture(scope="module")
def second_clean_build(built_warehouse: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory) -> Path:
    settings = settings_for(tmp_path_factory.mktemp("second_build"))
    load_landing(built_warehouse.landing_dir, settings.raw_dir)
    dbt_build_with_clv(settings)  # a plain `dbt build` finds no clv tables in a new warehouse
    return settings.warehouse_path


def _columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, dtype in con.execute(
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        "where table_catalog = 'first' and table_schema in ('marts', 'audit') "
        "order by table_schema, table_name, ordinal_position"
    ).fetchall():
        if not VOLATILE.search(column):
            found.setdefault(f"{schema}.{table}", []).append((column, dtype))
    return found


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _close(a: float | None, b: float | None) -> bool:
    return a == b or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9))


def _differing(con: duckdb.DuckDBPyConnection, table: str, expressions: list[str]) -> int:
    select = ", ".join(expressions)
    (count,) = con.execute(
        f"select count(*) from (select {select} from first.{table} except all select {select} from second.{table})"
    ).fetchone()
    return count


def test_two_clean_builds_give_the_same_marts_bit_for_bit_but_for_known_parallel_sums(
    built_warehouse: BuiltWarehouse, second_clean_build: Path
) -> None:
    con = duckdb.connect()
    con.execute(f"attach '{built_warehouse.path}' as first (read_only)")
    con.execute(f"attach '{second_clean_build}' as second (read_only)")
    tables = _columns(con)
    assert len(tables) >= 19

    unexpected, beyond_rounding = [], []
    for table, columns in tables.items():
        unstable = UNSTABLE_DOUBLES.get(table, set())
        exact = [_quoted(c) for c, _ in columns if c not in unstable]
        if _differing(con, table, exact):
            differing = [c for c, _ in columns if _differing(con, table, [_quoted(c)])]
            unexpected.append(f"{table}: {differing}")
        if unstable:
            # Rows in the same order (exact columns first), the unstable doubles equal to 1e-9 relative.
            ordered = exact + [_quoted(c) for c in sorted(unstable)]
            query = "select {} from {{}}.{} order by all".format(", ".join(ordered), table)
            first = con.execute(query.format("first")).fetchall()
            second = con.execute(query.format("second")).fetchall()
            close = len(first) == len(second) and all(
                a[: len(exact)] == b[: len(exact)]
                and all(_close(x, y) for x, y in zip(a[len(exact):], b[len(exact):], strict=True))
                for a, b in zip(first, second, strict=True)
            )
            if not close:
                beyond_rounding.append(table)
    con.close()
    assert unexpected == [], "columns that differ between two clean builds"
    assert beyond_rounding == []
