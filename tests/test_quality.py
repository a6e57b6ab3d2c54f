"""The data-quality gate: GX suites defined in code, run chunk by chunk on DuckDB."""

from __future__ import annotations

import re
import shutil
import time
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from segmentation.ingest.contract import load_contract
from segmentation.quality.gate import GX_PROJECT_DIR, sync_project, validate_warehouse
from segmentation.quality.suites import (
    CLEAN_ROWS,
    WARNING,
    SuiteSpec,
    between,
    default_suites,
    in_set,
    not_before,
    not_null,
    zero,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent


def copy_gx_project(target: Path) -> Path:
    """A copy of the committed GX project (without run output), so tests never write to it."""
    shutil.copytree(GX_PROJECT_DIR, target, ignore=shutil.ignore_patterns("uncommitted"))
    return target


@pytest.fixture(scope="module")
def gx_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GX project for the hand-made suites of this module."""
    return tmp_path_factory.mktemp("gx") / "expectations"


# An `items` table: one row per item, key item_id, with a quarantine flag like the
# int_*_validated models.
ITEMS_ROWS = """
    select * from (values
        ('i1', 3, 'a', timestamp '2024-01-01', timestamp '2024-01-02', false),
        (null, 2, 'b', timestamp '2024-01-01', timestamp '2024-01-02', false),
        ('i3', 0, 'a', timestamp '2024-01-01', timestamp '2024-01-02', false),
        ('i3', 1, 'a', timestamp '2024-01-01', timestamp '2024-01-02', false),
        ('i5', -4, 'zzz', timestamp '2030-01-01', timestamp '2024-01-02', true),
        ('i6', 5, 'zzz', timestamp '2024-03-01', timestamp '2024-01-02', false)
    ) as t(item_id, quantity, status, happened_at, loaded_at, is_quarantined)
"""


def make_warehouse(path: Path, rows_sql: str = ITEMS_ROWS) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists shop")
        con.execute(f"create or replace table shop.items as {rows_sql}")
    finally:
        con.close()
    return path


def items_suites(*, status_severity: str = "critical") -> list[SuiteSpec]:
    rows = SuiteSpec(
        name="shop_items_rows",
        layer="test",
        relation="shop.items",
        sql="select * from shop.items",
        checks=(
            not_null("item_id"),
            between("quantity", 0, strict_min=True, row_filter=CLEAN_ROWS),
            in_set("status", ["a", "b"], severity=status_severity, row_filter=CLEAN_ROWS),
            not_before("loaded_at", "happened_at", row_filter=CLEAN_ROWS),
        ),
        chunked=True,
        index_columns=("item_id",),
    )
    table = SuiteSpec(
        name="shop_items_table",
        layer="test",
        relation="shop.items",
        sql="""
            select count(*) as clean_rows,
                (select count(*) from (
                    select item_id from shop.items where not is_quarantined
                    group by item_id having count(*) > 1)) as duplicate_key_count
            from shop.items where not is_quarantined
        """,
        checks=(zero("duplicate_key_count"), between("clean_rows", 1)),
        chunked=False,
    )
    return [rows, table]


def by_check(report) -> dict[tuple[str, str, str | None], object]:
    return {(c.suite, c.expectation_type, c.column): c for c in report.checks}


def test_failing_checks_fail_with_exact_counts_and_the_fixed_table_passes(
    tmp_path: Path, gx_project: Path
) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb")
    report = validate_warehouse(
        warehouse, suites=items_suites(), gx_project_dir=gx_project, build_docs=False
    )

    failed = {(c.suite, c.expectation_type, c.column) for c in report.checks if not c.success}
    assert failed == {
        ("shop_items_rows", "expect_column_values_to_not_be_null", "item_id"),
        ("shop_items_rows", "expect_column_values_to_be_between", "quantity"),
        ("shop_items_rows", "expect_column_values_to_be_in_set", "status"),
        ("shop_items_rows", "expect_column_pair_values_a_to_be_greater_than_b", "loaded_at, happened_at"),
        ("shop_items_table", "expect_column_values_to_be_between", "duplicate_key_count"),
    }
    checks = by_check(report)
    null_key = checks[("shop_items_rows", "expect_column_values_to_not_be_null", "item_id")]
    assert (null_key.unexpected_count, null_key.element_count) == (1, 6)
    # Only clean rows count: the quarantined row with quantity -4 and status zzz is ignored.
    quantity = checks[("shop_items_rows", "expect_column_values_to_be_between", "quantity")]
    assert (quantity.unexpected_count, quantity.element_count) == (1, 5)
    assert quantity.sample == ("quantity=0, item_id=i3",)
    status = checks[("shop_items_rows", "expect_column_values_to_be_in_set", "status")]
    assert status.unexpected_count == 1 and "i6" in status.sample[0]
    future = checks[
        ("shop_items_rows", "expect_column_pair_values_a_to_be_greater_than_b", "loaded_at, happened_at")
    ]
    assert future.unexpected_count == 1 and "i6" in future.sample[0]
    duplicates = checks[("shop_items_table", "expect_column_values_to_be_between", "duplicate_key_count")]
    assert duplicates.sample == ("1",) and duplicates.blocking
    assert checks[("shop_items_table", "expect_column_values_to_be_between", "clean_rows")].success
    assert not report.passed
    assert "duplicate_key_count" in report.summary() and "BLOCKED" in report.summary()

    con = duckdb.connect(str(warehouse))
    try:
        con.execute("update shop.items set item_id = 'i2' where item_id is null")
        con.execute("delete from shop.items where item_id = 'i3' and quantity = 0")
        con.execute("update shop.items set status = 'b', happened_at = timestamp '2024-01-01' where item_id = 'i6'")
    finally:
        con.close()
    fixed = validate_warehouse(
        warehouse, suites=items_suites(), gx_project_dir=gx_project, build_docs=False
    )
    assert fixed.passed and not fixed.warnings
    assert all(c.success for c in fixed.checks) and len(fixed.checks) == 6


def mixed_failures_suite() -> SuiteSpec:
    """Every translated expectation type, with nulls, NaN, quarantined rows and dates."""
    return SuiteSpec(
        name="shop_items_rows",
        layer="test",
        relation="shop.items",
        sql="select * from shop.items",
        checks=(
            not_null("item_id"),
            between("quantity", 0, strict_min=True, row_filter=CLEAN_ROWS),
            in_set("status", ["a", "b"], row_filter=CLEAN_ROWS),
            not_before("loaded_at", "happened_at", row_filter=CLEAN_ROWS),
            not_before("loaded_at", "happened_at", strictly=True, severity=WARNING),
            between("price", 0, 10),
            not_null("price", severity=WARNING),
            between("happened_at", datetime(2024, 1, 1), row_filter=CLEAN_ROWS),
        ),
        chunked=True,
        index_columns=("item_id",),
    )


def test_pushed_down_and_streamed_validation_give_the_same_verdicts_counts_and_samples(
    tmp_path: Path, gx_project: Path
) -> None:
    # 25 rows; failures spread over the table so they land in different chunks of 2 rows.
    warehouse = make_warehouse(
        tmp_path / "warehouse.duckdb",
        """
        select
            case when i = 11 then null else 'i' || i end as item_id,
            case when i in (2, 24) then 0 else i + 1 end as quantity,
            case when i = 24 then 'zzz' when i = 7 then null else 'a' end as status,
            case when i = 5 then timestamp '2023-12-31'
                when i = 9 then null
                when i = 13 then timestamp '2024-01-02'
                else timestamp '2024-01-01' end as happened_at,
            timestamp '2024-01-02' as loaded_at,
            case when i = 3 then 'nan'::double when i = 4 then null
                when i in (6, 20) then 11.5 else i / 10 end as price,
            i = 20 as is_quarantined
        from range(25) r(i)
        """,
    )
    suites = [mixed_failures_suite()]
    pushed = validate_warehouse(warehouse, suites=suites, gx_project_dir=gx_project, build_docs=False)
    streamed = validate_warehouse(
        warehouse, suites=suites, gx_project_dir=gx_project, build_docs=False, push_down=False
    )
    chunked = validate_warehouse(
        warehouse, suites=suites, chunk_rows=2, gx_project_dir=gx_project, build_docs=False,
        push_down=False,
    )
    assert streamed.chunks == {"shop_items_rows": 1}
    assert chunked.chunks == {"shop_items_rows": 13}

    def verdicts(report):
        return [
            (c.expectation_type, c.column, c.criteria, c.success, c.unexpected_count,
             c.element_count, sorted(c.sample))
            for c in report.checks
        ]

    assert verdicts(pushed) == verdicts(streamed) == verdicts(chunked)
    counts = {
        (c.column, c.criteria): (c.unexpected_count, c.element_count) for c in pushed.checks
    }
    clean = "where is_quarantined = False"
    assert counts == {
        ("item_id", ""): (1, 25),
        ("quantity", f"min_value=0, strict_min=True, {clean}"): (2, 24),
        ("status", f"value_set={{a, b}}, {clean}"): (1, 24),  # a null status is not unexpected
        ("loaded_at, happened_at", f"or_equal=True, {clean}"): (0, 24),
        ("loaded_at, happened_at", "or_equal=False"): (1, 25),
        ("price", "min_value=0, max_value=10"): (2, 25),  # NaN and null are missing, not out of range
        ("price", ""): (2, 25),  # pandas counts NaN as null, so the gate does too
        ("happened_at", f"min_value=2024-01-01 00:00:00, {clean}"): (1, 24),
    }
    quantity = by_check(pushed)[("shop_items_rows", "expect_column_values_to_be_between", "quantity")]
    assert sorted(quantity.sample) == ["quantity=0, item_id=i2", "quantity=0, item_id=i24"]
    assert quantity.blocking and not pushed.passed


def test_the_gate_pages_show_each_failed_check_with_its_severity_and_the_blocked_verdict(
    tmp_path: Path, gx_project: Path
) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb")
    report = validate_warehouse(
        warehouse, suites=items_suites(status_severity=WARNING), gx_project_dir=gx_project
    )
    assert report.pages_index is not None
    index = report.pages_index.read_text()
    assert "BLOCKED" in index and 'href="shop_items_rows.html"' in index
    rows_page = (report.pages_index.parent / "shop_items_rows.html").read_text()
    assert "BLOCKED" in rows_page
    # The null key: critical, blocks, 1 of 6 rows; the status: a warning, reported only.
    assert re.search(r"FAILED \(blocks publishing\)</span></td><td>critical</td>"
                     r"<td>expect_column_values_to_not_be_null</td><td>item_id</td><td></td>"
                     r'<td class="num">1 of 6</td>', rows_page)
    assert re.search(r"failed \(reported\)</span></td><td>warning</td>"
                     r"<td>expect_column_values_to_be_in_set</td><td>status</td>", rows_page)


def test_a_sql_translation_that_disagrees_with_gx_blocks_instead_of_passing(
    tmp_path: Path, gx_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from segmentation.quality import gate

    warehouse = make_warehouse(tmp_path / "warehouse.duckdb")
    # A wrong translation that calls every row unexpected: GX accepts the rows, so the
    # disagreement must surface as a failure, never as a pass.
    monkeypatch.setattr(
        gate, "_predicates", lambda check, types: gate._Predicates("TRUE", "TRUE")
    )
    suite = SuiteSpec(
        name="shop_items_rows", layer="test", relation="shop.items",
        sql="select * from shop.items where item_id = 'i1'",
        checks=(not_null("item_id"),), chunked=True, index_columns=("item_id",),
    )
    report = validate_warehouse(warehouse, suites=[suite], gx_project_dir=gx_project, build_docs=False)
    (check,) = report.checks
    assert not check.success and check.blocking
    assert check.sample[0].startswith("gate error: DuckDB found 1 unexpected rows that GX accepts")


def test_a_failed_warning_is_reported_but_only_a_critical_failure_blocks(
    tmp_path: Path, gx_project: Path
) -> None:
    warehouse = make_warehouse(
        tmp_path / "warehouse.duckdb",
        """
        select * from (values
            ('i1', 1, 'a', timestamp '2024-01-01', timestamp '2024-01-02', false),
            ('i2', 1, 'zzz', timestamp '2024-01-01', timestamp '2024-01-02', false)
        ) as t(item_id, quantity, status, happened_at, loaded_at, is_quarantined)
        """,
    )
    warned = validate_warehouse(
        warehouse,
        suites=items_suites(status_severity=WARNING),
        gx_project_dir=gx_project,
        build_docs=False,
    )
    assert warned.passed
    assert [(c.column, c.severity) for c in warned.warnings] == [("status", "warning")]
    assert not warned.blocking_failures and "warnings (reported, not blocking)" in warned.summary()

    blocked = validate_warehouse(
        warehouse, suites=items_suites(), gx_project_dir=gx_project, build_docs=False
    )
    assert not blocked.passed
    assert [(c.column, c.severity) for c in blocked.blocking_failures] == [("status", "critical")]


def test_a_missing_mart_fails_only_when_its_dbt_model_is_defined(
    tmp_path: Path, gx_project: Path
) -> None:
    warehouse = make_warehouse(tmp_path / "warehouse.duckdb")

    def suite(relation: str, *, optional: bool) -> SuiteSpec:
        return SuiteSpec(
            name=f"mart_{relation.split('.')[-1]}",
            layer="marts",
            relation=relation,
            sql=f"select * from {relation}",
            checks=(not_null("customer_id"),),
            chunked=True,
            optional=optional,
        )

    report = validate_warehouse(
        warehouse,
        suites=[
            suite("marts.not_a_model_yet", optional=True),  # planned: skipped
            suite("marts.customer_profitability", optional=True),  # defined in dbt: fails
            suite("shop.not_there", optional=False),  # required: fails
        ],
        gx_project_dir=gx_project,
        build_docs=False,
    )
    assert report.skipped == [
        "mart_not_a_model_yet: model not_a_model_yet is not defined in the dbt project"
    ]
    assert [(c.suite, c.expectation_type, c.severity) for c in report.blocking_failures] == [
        ("mart_customer_profitability", "dataset_available", "critical"),
        ("mart_not_there", "dataset_available", "critical"),
    ]
    assert "missing relation marts.customer_profitability" in report.blocking_failures[0].sample[0]


def test_allowed_values_come_from_the_contract() -> None:
    contract = load_contract()
    suites = {s.name: s for s in default_suites(contract)}
    in_sets = {
        c.kwargs["column"]: c.kwargs["value_set"]
        for c in suites["staging_support_tickets_rows"].checks
        if c.type == "expect_column_values_to_be_in_set"
    }
    tickets = contract.entity("support_tickets")
    assert in_sets["support_channel"] == list(tickets.column("channel").allowed)
    assert in_sets["ticket_category"] == list(tickets.column("category").allowed)
    assert in_sets["priority"] == list(tickets.column("priority").allowed)
    # Every entity of the contract has its three suites.
    for entity in contract.names:
        assert {f"staging_{entity}_{kind}" for kind in ("schema", "rows", "table")} <= set(suites)


def test_committed_gx_json_equals_what_the_code_defines(tmp_path: Path) -> None:
    """Like a generated-doc check: fails when suites.py changed and the JSON was not synced."""
    copy = copy_gx_project(tmp_path / "expectations")
    sync_project(project_dir=copy)
    committed, synced = GX_PROJECT_DIR / "gx", copy / "gx"

    def files(root: Path) -> dict[str, bytes]:
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in root.rglob("*")
            if p.is_file() and "uncommitted" not in p.relative_to(root).parts
        }

    before, after = files(committed), files(synced)
    differences = sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )
    assert not differences, (
        f"expectations/gx differs from segmentation/quality/suites.py in {differences}; "
        "run `.venv/bin/python -m segmentation.quality` and commit the result"
    )
    names = {p.stem for p in (committed / "expectations").glob("*.json")}
    assert names == {s.name for s in default_suites()}


def test_the_sample_warehouse_passes_and_data_docs_are_built(
    built_warehouse, tmp_path: Path
) -> None:
    started = time.monotonic()
    report = validate_warehouse(
        built_warehouse.path, gx_project_dir=copy_gx_project(tmp_path / "expectations")
    )
    print(f"\nvalidated the sample in {time.monotonic() - started:.1f}s\n{report.summary()}")
    assert report.passed, report.summary()
    assert report.docs_index is not None and report.docs_index.is_file()
    assert report.docs_index.name == "index.html"
    # The offline gate pages: one per suite, no external CSS, JS or images.
    assert report.pages_index is not None
    pages = {p.stem for p in report.pages_index.parent.glob("*.html")} - {"index"}
    assert pages == {c.suite for c in report.checks}
    index = report.pages_index.read_text()
    assert "PASSED" in index and "may be published" in index
    for page in report.pages_index.parent.glob("*.html"):
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", page.read_text()), page
    validated = {c.suite for c in report.checks}
    assert "staging_order_lines_rows" in validated and "audit_row_reconciliation" in validated
    # Every mart of the dbt project that the sample built was validated, not skipped.
    marts = {
        name for (name,) in built_warehouse.query(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        )
    }
    for suite in default_suites():
        if suite.layer == "marts" and suite.relation.split(".")[-1] in marts:
            assert suite.name in validated
    reconciled = [
        c for c in report.checks
        if c.suite == "audit_row_reconciliation" and c.column == "is_reconciled"
    ]
    assert reconciled and all(c.success and c.element_count == 8 for c in reconciled)
