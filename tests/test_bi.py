"""What BI tools and people see: contracts, no personal data, Parquet export, metrics, report.

Works on the session's annual-review copy (`annual_reviews`, tests/conftest.py): four reviews
in the history, migrations between the annual ones, marts as of annual-FY2024. It is
published, exported and reported once per module (`published_review`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pytest
from conftest import PROJECT_DIR, _copy_warehouse, _query

from segmentation.dbt_runner import run_dbt
from segmentation.publish.parquet_export import EXPORTED_TABLES, KEEP_VERSIONS, ExportResult, export_parquet
from segmentation.publish.warehouse import publish
from segmentation.report.review import CHART_IDS, ReportError, ReportResult, write_report

if TYPE_CHECKING:
    from conftest import AnnualReviews, BuiltWarehouse

pytestmark = pytest.mark.slow

# dbt contracts are for SQL models; these two marts are dbt Python models (CLV fits).
PYTHON_MARTS = {"clv_model_fit", "clv_holdout_validation"}
CONTRACTED_MARTS = sorted(set(EXPORTED_TABLES) - PYTHON_MARTS)
SAMPLE_SALT = "sample-data-only-not-a-secret"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass(frozen=True)
class PublishedReview:
    working: Path
    published: Path
    export: ExportResult
    report: ReportResult


@pytest.fixture(scope="module")
def published_review(annual_reviews: AnnualReviews, tmp_path_factory: pytest.TempPathFactory) -> PublishedReview:
    out = tmp_path_factory.mktemp("bi")
    working = annual_reviews.settings.warehouse_path
    published = out / "published" / "warehouse.duckdb"
    publish(working, published)
    export = export_parquet(published, out / "published" / "parquet")
    report = write_report(published, out / "reports")
    return PublishedReview(working, published, export, report)


def _manifest() -> dict:
    target = Path(os.environ.get("DBT_TARGET_PATH", PROJECT_DIR / "target"))
    return json.loads((target / "manifest.json").read_text())


def _published(review: PublishedReview, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(review.published), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def test_bi_marts_have_enforced_contracts_that_the_published_types_follow(
    published_review: PublishedReview,
) -> None:
    nodes = {node["name"]: node for node in _manifest()["nodes"].values() if node["resource_type"] == "model"}
    types = duckdb.connect()  # resolves a contract's type name the way DuckDB spells it
    for mart in CONTRACTED_MARTS:
        node = nodes[mart]
        assert node["config"]["contract"]["enforced"] is True, f"{mart} has no enforced contract"
        declared = {
            name: types.execute(f"select typeof(cast(null as {column['data_type']}))").fetchone()[0]
            for name, column in node["columns"].items()
        }
        published = dict(_published(
            published_review,
            "select column_name, data_type from information_schema.columns"
            " where table_schema = 'marts' and table_name = ?",
            [mart],
        ))
        assert published == declared, mart
        keys = [name for name, column in node["columns"].items()
                if any(c["type"] == "not_null" for c in column.get("constraints", []))]
        assert keys, f"{mart} declares no not-null key"


def test_no_personal_data_reaches_the_published_file(published_review: PublishedReview) -> None:
    con = duckdb.connect()
    try:
        con.execute(f"attach '{published_review.working}' as working (read_only)")
        con.execute(f"attach '{published_review.published}' as published (read_only)")
        con.execute(
            "create temp table pii as select distinct value from ("
            " select email as value from working.raw.customers union all"
            " select customer_name from working.raw.customers) where value is not null"
        )
        assert con.execute("select count(*) from pii").fetchone()[0] > 1_000
        text_columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns"
            " where table_catalog = 'published' and data_type = 'VARCHAR'"
        ).fetchall()
        assert len(text_columns) > 50
        leaks = []
        for schema, table, column in text_columns:
            hits = con.execute(
                f'select count(*) from published."{schema}"."{table}" where "{column}" in (select value from pii)'
            ).fetchone()[0]
            if hits:
                leaks.append(f"{schema}.{table}.{column}: {hits}")
        assert leaks == []
    finally:
        con.close()


def _contact_keys(settings_path: Path) -> dict[str, tuple[str | None, str | None]]:
    rows = duckdb.connect(str(settings_path), read_only=True)
    try:
        return {
            customer_id: (email, key)
            for customer_id, email, key in rows.execute(
                "select c.customer_id, c.email, k.contact_key from intermediate.int_customer_contact_keys k"
                " join staging.stg_landing__customers c using (customer_id)"
            ).fetchall()
        }
    finally:
        rows.close()


def _expected_key(salt: str, email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    return hashlib.md5((salt + email.strip().lower()).encode()).hexdigest()


def test_the_contact_key_is_a_hash_of_the_email_salted_from_the_environment(
    built_warehouse: BuiltWarehouse, tmp_path: Path
) -> None:
    default = _contact_keys(built_warehouse.path)
    assert len(default) > 1_000
    assert all(key == _expected_key(SAMPLE_SALT, email) for email, key in default.values())
    published_keys = dict(built_warehouse.query("select customer_id, contact_key from marts.dim_customer_segments"))
    assert all(published_keys[c] == default[c][1] for c in published_keys)

    settings = _copy_warehouse(built_warehouse.path, tmp_path / "salted")
    saved = os.environ.get("SEGMENTATION_CONTACT_KEY_SALT")
    os.environ["SEGMENTATION_CONTACT_KEY_SALT"] = "a-production-secret"
    try:
        run_dbt(["run", "--select", "int_customer_contact_keys"], settings)
    finally:
        if saved is None:
            os.environ.pop("SEGMENTATION_CONTACT_KEY_SALT")
        else:
            os.environ["SEGMENTATION_CONTACT_KEY_SALT"] = saved
    salted = _contact_keys(settings.warehouse_path)
    assert all(key == _expected_key("a-production-secret", email) for email, key in salted.values())
    with_email = [c for c, (email, _) in salted.items() if email]
    assert with_email and all(salted[c][1] != default[c][1] for c in with_email)


def test_the_parquet_export_holds_every_bi_mart_partitioned_by_review(published_review: PublishedReview) -> None:
    export = published_review.export
    assert export.current.resolve() == export.version_dir
    con = duckdb.connect()
    try:
        for table, partition_column in EXPORTED_TABLES.items():
            published_rows = _published(published_review, f"select count(*) from marts.{table}")[0][0]
            assert export.tables[table] == published_rows, table
            files = f"{export.current}/{table}/**/*.parquet"
            read_back = con.execute(
                f"select count(*) from read_parquet('{files}', hive_partitioning = true)"
            ).fetchone()[0]
            assert read_back == published_rows, table
            if partition_column and published_rows:
                folders = {p.name for p in (export.current / table).iterdir()}
                values = {str(v) for (v,) in _published(
                    published_review, f"select distinct {partition_column} from marts.{table}")}
                assert folders == {f"{partition_column}={v}" for v in values}, table
    finally:
        con.close()
    history = {p.name for p in (export.current / "segment_review_history").iterdir()}
    assert {"review_id=annual-FY2023", "review_id=annual-FY2024", "review_id=annual-FY2025"} <= history
    assert export.tables["segment_migrations"] > 0


def test_a_new_export_replaces_current_and_keeps_the_previous_one(
    published_review: PublishedReview, tmp_path: Path
) -> None:
    root = tmp_path / "parquet"
    first = export_parquet(published_review.published, root)
    second = export_parquet(published_review.published, root)
    assert (root / "current").is_symlink() and (root / "current").resolve() == second.version_dir
    assert first.version_dir.is_dir(), "a reader of the previous export must be able to finish"
    third = export_parquet(published_review.published, root)
    versions = sorted(p for p in (root / "versions").iterdir())
    assert len(versions) == KEEP_VERSIONS and versions[-1] == third.version_dir
    assert not first.version_dir.exists()


def test_metricflow_answers_the_metrics_by_segment_and_review(
    annual_reviews: AnnualReviews, tmp_path: Path
) -> None:
    out = tmp_path / "by_tier.csv"
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "SEGMENTATION_WAREHOUSE_PATH": str(annual_reviews.settings.warehouse_path),
    }
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("mf")), "query",
         "--metrics", "customers,net_profit,share_of_profit,cost_to_serve",
         "--group-by", "customer_review__value_tier",
         "--where", "{{ Dimension('customer_review__review_id') }} = 'annual-FY2025'",
         "--csv", str(out)],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    with out.open() as handle:
        by_tier = {row["customer_review__value_tier"]: row for row in csv.DictReader(handle)}
    expected = {
        tier: (customers, float(profit), float(cost))
        for tier, customers, profit, cost in _query(
            annual_reviews.settings,
            "select value_tier, count(*), sum(rolling_net_profit), sum(rolling_cost_to_serve)"
            " from marts.segment_review_history where review_id = 'annual-FY2025' group by value_tier",
        )
    }
    assert set(by_tier) == set(expected) and len(expected) >= 4
    for tier, (customers, profit, cost) in expected.items():
        assert int(by_tier[tier]["customers"]) == customers
        assert float(by_tier[tier]["net_profit"]) == pytest.approx(profit, rel=1e-9)
        assert float(by_tier[tier]["cost_to_serve"]) == pytest.approx(cost, rel=1e-9)
    assert sum(float(row["share_of_profit"]) for row in by_tier.values()) == pytest.approx(1.0)


def test_the_report_is_one_self_contained_file_about_the_published_review(
    published_review: PublishedReview,
) -> None:
    report = published_review.report
    text = report.path.read_text()
    assert report.review_id == "annual-FY2024" and report.path.name == "review_2024-12-31.html"
    assert list(report.charts) == list(CHART_IDS) and report.notes == []
    assert "<script src=" not in text, "the report must not load anything from the network"
    customers = _published(published_review, "select count(*) from marts.dim_customer_segments")[0][0]
    assert f">{customers:,}<" in text
    assert "annual-FY2023" in text and "annual-FY2024" in text  # the migration pair


def test_the_report_refuses_a_warehouse_without_marts(tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(ReportError, match="dim_customer_segments"):
        write_report(empty, tmp_path / "reports")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does)")
def test_every_chart_of_the_report_is_drawn_in_a_browser(published_review: PublishedReview, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright
    from test_dagster_ui import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(published_review.report.path.as_uri())
            for chart in CHART_IDS:
                page.wait_for_selector(f"#{chart} .main-svg", timeout=60_000)
            drawn = page.eval_on_selector_all(
                "section.chart",
                """sections => Object.fromEntries(sections.map(s => [s.dataset.chart,
                    s.querySelectorAll('.bars .point, .scatterlayer .trace, .heatmaplayer image').length]))""",
            )
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert set(drawn) == set(CHART_IDS)
    assert all(marks > 0 for marks in drawn.values()), drawn
    assert (tmp_path / "report.png").stat().st_size > 100_000


def _holds_write_lock(pid: int, path: Path) -> bool:
    """Whether process `pid` holds a POSIX write lock on `path` (Linux /proc/locks)."""
    inode = path.stat().st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        # e.g. "1: POSIX  ADVISORY  WRITE 21187 08:01:1234567 0 EOF"
        if (
            len(fields) >= 6 and fields[3] == "WRITE" and fields[4] == str(pid)
            and fields[5].rsplit(":", 1)[-1] == str(inode)
        ):
            return True
    return False


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs Linux /proc/locks to see dbt's file lock")
def test_bi_reads_the_published_file_while_dbt_builds(
    built_warehouse: BuiltWarehouse, published_review: PublishedReview, tmp_path: Path
) -> None:
    """A second process queries the published file and the Parquet export during a build,
    while dbt holds the working file's write lock (seen in /proc/locks, which does not
    touch the file: opening it, even read-only, could make dbt's own open fail)."""
    settings = _copy_warehouse(built_warehouse.path, tmp_path / "working")
    env = {
        **os.environ,
        "SEGMENTATION_WAREHOUSE_PATH": str(settings.warehouse_path),
        "SEGMENTATION_RAW_DIR": str(settings.raw_dir),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    build = subprocess.Popen(
        [str(Path(sys.executable).with_name("dbt")), "build", "--select", "path:models/marts/finance",
         "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    whale_curve_files = f"{published_review.export.current}/whale_curve/**/*.parquet"
    reader = f"""
import duckdb
con = duckdb.connect({str(published_review.published)!r}, read_only=True)
customers = con.execute("select count(*) from marts.dim_customer_segments").fetchone()[0]
parquet = con.execute("select count(*) from read_parquet('{whale_curve_files}')").fetchone()[0]
con.close()
print(customers, parquet)
"""
    reads: list[str] = []
    reads_while_dbt_held_the_file = 0
    while build.poll() is None:
        held_before = _holds_write_lock(build.pid, settings.warehouse_path)
        read = subprocess.run([sys.executable, "-c", reader], capture_output=True, text=True, timeout=120)
        assert read.returncode == 0, read.stderr
        reads.append(read.stdout.strip())
        if held_before and _holds_write_lock(build.pid, settings.warehouse_path):
            reads_while_dbt_held_the_file += 1
        time.sleep(0.2)
    output = build.stdout.read() if build.stdout else ""
    assert build.returncode == 0, output
    assert reads_while_dbt_held_the_file >= 1, "no read overlapped dbt's write lock: the test proved nothing"
    assert len(reads) >= 3 and len(set(reads)) == 1
