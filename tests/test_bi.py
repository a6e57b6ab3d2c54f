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
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pytest
from conftest import PROJECT_DIR, _copy_warehouse

from segmentation.dbt_runner import run_dbt
from segmentation.publish.parquet_export import EXPORTED_TABLES, KEEP_VERSIONS, ExportResult, export_parquet
from segmentation.publish.warehouse import publish
from segmentation.report.review import CHART_IDS, LABELS, TABLE_IDS, ReportError, ReportResult, write_report

if TYPE_CHECKING:
    from conftest import AnnualReviews, BuiltWarehouse

pytestmark = pytest.mark.slow

# These two marts carry no contract: their columns are the CLV step's tables (the source `clv`).
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


# A money amount by its name (predicted_clv_12m, cost_to_serve_budget_per_year, margin_at_risk_low),
# unless a word says it is a ratio, share, rate, duration or score of money.
MONEY_NAME = re.compile(r"clv|revenue|profit|margin|cost|savings|budget|net_effect|spend|amount|fee|price|cogs")
NOT_MONEY_NAME = re.compile(r"(^|_)(ratio|share|rate|hours|months|score|customers|rank)(_|$)")
MONEY_TYPE = "DECIMAL(28,6)"  # macros/as_money.sql: dbt.type_numeric()


def money_columns_not_numeric(published: Path) -> list[str]:
    """Fractional columns of the published marts that hold money but are not the money type."""
    con = duckdb.connect(str(published), read_only=True)
    try:
        columns = con.execute(
            "select table_name, column_name, data_type from information_schema.columns"
            " where table_schema = 'marts' and (data_type like 'DECIMAL%' or data_type in ('DOUBLE', 'FLOAT'))"
            " order by table_name, ordinal_position"
        ).fetchall()
    finally:
        con.close()
    return [
        f"{table}.{column} {data_type}" for table, column, data_type in columns
        if MONEY_NAME.search(column) and not NOT_MONEY_NAME.search(column) and data_type != MONEY_TYPE
    ]


def test_every_money_column_of_the_published_file_is_numeric(published_review: PublishedReview) -> None:
    """predicted_clv and the other CLV amounts included; the CLV statistics (P(alive),
    expected purchases) stay double. The contracts declare the same types (test above)."""
    assert money_columns_not_numeric(published_review.published) == []
    assert _published(
        published_review,
        "select count(*) from information_schema.columns where table_schema = 'marts' and data_type = ?",
        [MONEY_TYPE],
    )[0][0] > 100
    assert _published(
        published_review,
        "select data_type from information_schema.columns"
        " where table_name = 'customer_clv' and column_name = 'p_alive'",
    ) == [("DOUBLE",)]
    # ... and the contract's NOT NULL survives the change of type and the publishing
    assert _published(
        published_review,
        "select data_type, is_nullable from information_schema.columns"
        " where table_name = 'customer_clv' and column_name = 'predicted_clv_12m'",
    ) == [(MONEY_TYPE, "NO")]


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


def _readme_analyst_query() -> str:
    """The SQL block of the README's "Operational hand-off" paragraph."""
    text = (PROJECT_DIR / "README.md").read_text()
    section = text[text.index("**Operational hand-off.**"):]
    return section[section.index("```sql") + len("```sql"):section.index("```", section.index("```sql") + 6)]


def test_the_readme_analyst_question_is_one_query_on_the_published_file_and_its_csv(
    published_review: PublishedReview,
) -> None:
    query = _readme_analyst_query()
    answer = _published(published_review, query)
    expected = _published(
        published_review,
        "select count(*) from marts.dim_customer_segments"
        " where value_tier in ('platinum', 'gold') and churn_risk = 'high'",
    )[0][0]
    assert len(answer) == expected > 0
    con = duckdb.connect(str(published_review.working), read_only=True)
    try:
        managers = dict(con.execute(
            "select customer_id, account_manager_id from intermediate.int_segment_customers_profiled").fetchall())
    finally:
        con.close()
    columns = ["customer_id", "value_tier", "account_manager_id", "account_manager_status",
               "predicted_clv", "clv_horizon_months", "currency", "routing_queue", "sla_first_response_hours"]
    rows = [dict(zip(columns, row, strict=True)) for row in answer]
    assert all(row["account_manager_id"] == managers[row["customer_id"]] for row in rows)
    assert any(row["account_manager_id"] for row in rows), "no account manager in the answer: nothing was checked"
    assert {row["clv_horizon_months"] for row in rows} == {36} and {row["currency"] for row in rows} == {"USD"}
    assert [row["predicted_clv"] for row in rows] == sorted((row["predicted_clv"] for row in rows), reverse=True)

    csv_file = published_review.export.current / "customer_service_handoff.csv"
    from_csv = duckdb.connect().execute(
        query.replace("marts.customer_service_handoff", f"'{csv_file}'")).fetchall()
    assert [(r[0], r[2], float(r[4] or 0)) for r in from_csv] == [(r[0], r[2], float(r[4] or 0)) for r in answer]


def test_entitlement_gaps_agree_with_the_hand_off(published_review: PublishedReview) -> None:
    gaps = dict(_published(
        published_review, "select gap_type, count(*) from marts.customer_entitlement_gaps group by gap_type"))
    statuses = dict(_published(
        published_review,
        "select account_manager_status, count(*) from marts.customer_service_handoff group by all"))
    assert gaps.get("account_manager_missing", 0) == statuses.get("entitled_not_assigned", 0)
    assert gaps["account_manager_not_entitled"] == statuses["assigned_not_entitled"] > 0
    over_served_costs = _published(
        published_review,
        "select count(*), count(*) filter (where over_service_cost_per_year > 0)"
        " from marts.customer_entitlement_gaps where gap_direction = 'over_served'")[0]
    assert over_served_costs[0] == over_served_costs[1] > 0


def _readme_mf_commands() -> list[list[str]]:
    """The `mf query` commands of the README's metrics section, as argument lists."""
    commands = [
        line.split()[1:] for line in (PROJECT_DIR / "README.md").read_text().splitlines()
        if line.startswith(".venv/bin/mf query ")
    ]
    assert len(commands) >= 3, "the README lost its mf commands"
    return commands


def _mf(review: PublishedReview, arguments: list[str], out: Path) -> list[dict[str, str]]:
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "SEGMENTATION_DBT_TARGET": "published",
        "SEGMENTATION_PUBLISHED_PATH": str(review.published),
        # mf must never need the working file: point its path at nothing
        "SEGMENTATION_WAREHOUSE_PATH": str(out.parent / "no-working-warehouse.duckdb"),
    }
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("mf")), *arguments, "--csv", str(out)],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    with out.open() as handle:
        return list(csv.DictReader(handle))


def test_the_readme_metricflow_commands_count_every_customer_once(
    published_review: PublishedReview, tmp_path: Path
) -> None:
    """On a published file whose history holds four reviews (two on the same date), the
    README's mf commands give the current review's totals, and the history per review."""
    current = _published(
        published_review, "select count(*), sum(rolling_net_profit) from marts.dim_customer_segments")[0]
    per_review = dict(_published(
        published_review, "select review_id, count(*) from marts.segment_review_history group by review_id"))
    assert len(per_review) == 4 and sum(per_review.values()) > current[0]
    for number, arguments in enumerate(_readme_mf_commands()):
        rows = _mf(published_review, arguments, tmp_path / f"query_{number}.csv")
        assert rows, arguments
        if "customers" in rows[0]:
            assert sum(int(row["customers"]) for row in rows) == current[0], arguments
        if "share_of_profit" in rows[0]:
            assert sum(float(row["share_of_profit"]) for row in rows) == pytest.approx(1.0), arguments
        if "net_profit" in rows[0]:
            assert sum(float(row["net_profit"]) for row in rows) == pytest.approx(float(current[1]), rel=1e-9)
        if "review_history_customers" in rows[0]:
            by_review: dict[str, list[dict[str, str]]] = {}
            for row in rows:
                by_review.setdefault(row["customer_review__review_id"], []).append(row)
            assert set(by_review) == set(per_review), arguments
            for review_id, review_rows in by_review.items():
                assert sum(int(r["review_history_customers"]) for r in review_rows) == per_review[review_id]
                assert sum(float(r["review_history_share_of_profit"]) for r in review_rows) == pytest.approx(1.0)


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
def test_the_report_its_tables_and_its_links_work_in_a_browser(
    annual_reviews: AnnualReviews, published_review: PublishedReview, tmp_path: Path
) -> None:
    """Every chart is drawn, every action table has rows with readable labels, and every link
    opens from the file: the static dbt docs show a model, the GX link reaches its page.
    SEGMENTATION_REPORT_SCREENSHOT saves the report's screenshot (e.g. docs/img/review-report.png)."""
    from playwright.sync_api import sync_playwright
    from test_dagster_ui import CHROMIUM_ARGS

    run_dbt(["docs", "generate", "--static"], annual_reviews.settings)
    static_docs = annual_reviews.settings.dbt_docs_index
    assert static_docs.name == "static_index.html" and static_docs.is_file()
    gx_index = tmp_path / "gx" / "index.html"
    gx_index.parent.mkdir()
    gx_index.write_text("<html><body><h1>GX Data Docs</h1></body></html>")
    reports = tmp_path / "shared" / "reports"
    report = write_report(published_review.published, reports, dbt_docs=static_docs, gx_docs=gx_index)
    text = report.path.read_text()
    for machine_path in (str(tmp_path), str(PROJECT_DIR), str(published_review.published.parent)):
        assert machine_path not in text, f"the report names a path of the build machine: {machine_path}"
    assert "USD" in text and "next 36 months" in text and "last 12 months" in text

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(report.path.as_uri())
            for chart in CHART_IDS:
                page.wait_for_selector(f"#{chart} .main-svg", timeout=60_000)
            drawn = page.eval_on_selector_all(
                "section.chart",
                """sections => Object.fromEntries(sections.map(s => [s.dataset.chart,
                    s.querySelectorAll('.bars .point, .scatterlayer .trace, .heatmaplayer image').length]))""",
            )
            tables = page.eval_on_selector_all(
                "section.table",
                """sections => Object.fromEntries(sections.map(s => [s.dataset.table,
                    [...s.querySelectorAll('tbody tr')].map(r => [...r.cells].map(c => c.innerText))]))""",
            )
            links = page.eval_on_selector_all(".links a", "anchors => anchors.map(a => a.href)")
            screenshot = Path(os.environ.get("SEGMENTATION_REPORT_SCREENSHOT", tmp_path / "report.png"))
            page.screenshot(path=str(screenshot), full_page=True)

            assert len(links) == 2 and all(link.startswith("file://") for link in links)
            docs = browser.new_page()
            docs.goto(links[0] + "#!/model/model.customer_segmentation.customer_service_handoff")
            docs.wait_for_function(
                "document.body.innerText.includes('operational hand-off')", timeout=60_000)
            assert "(loading)" not in docs.inner_text("body")
            gx = browser.new_page()
            gx.goto(links[1])
            assert gx.inner_text("h1") == "GX Data Docs"
        finally:
            browser.close()
    assert set(drawn) == set(CHART_IDS)
    assert all(marks > 0 for marks in drawn.values()), drawn
    assert set(tables) == set(TABLE_IDS) and report.tables == {t: len(rows) for t, rows in tables.items()}
    for table_id in ("valuable-at-churn-risk", "lookalike-candidates", "over-service"):
        assert tables[table_id] and tables[table_id][0][0] != "none", table_id
    codes = {code for code in LABELS if "_" in code}
    raw_codes = [cell for rows in tables.values() for row in rows for cell in row if cell in codes]
    assert raw_codes == [], "codes shown instead of readable labels"
    assert {row[1] for row in tables["valuable-at-churn-risk"]} <= {"Platinum", "Gold"}
    assert all(row[4].startswith("USD ") for row in tables["valuable-at-churn-risk"])
    assert screenshot.stat().st_size > 100_000


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
