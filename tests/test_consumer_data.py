"""A consumer (B2C) business runs the whole job: no firmographics, no list prices, no
acquisition channels, its own sales channels and product categories (docs/data_contract.md,
"Consumer (B2C) data").

The landing set is the generator's sample cut down to what a consumer shop has: customers
with an id and a signup date, products with a category and a unit cost, orders with their
own sales channels, order lines with quantity and price, and the cost rates (a returned order
costs money). No support tickets, acquisition spend or service contracts. The business lists
its channels and categories in the seeds of its own copy of the project, as a user would, and
runs `segmentation run`.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from segmentation.sample.generate import GeneratorConfig, generate

PROJECT_DIR = Path(__file__).resolve().parent.parent
CUSTOMERS = 800
SEED = 20_260_101

SALES_CHANNELS = {"web": "online_store", "mobile_app": "app", "phone": "marketplace",
                  "partner": "marketplace", "field_sales": "store"}
CATEGORIES = {"hardware": "electronics", "software": "games", "consumables": "grocery",
              "accessories": "fashion", "services": "home"}
NOT_IN_SEED_ORDER = "O-CONSUMER-1"


@dataclass(frozen=True)
class ConsumerRun:
    data_dir: Path
    output: str

    def query(self, sql: str) -> list[tuple]:
        con = duckdb.connect(str(self.data_dir / "published" / "warehouse.duckdb"), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def scalar(self, sql: str):
        return self.query(sql)[0][0]


def _project_copy(target: Path) -> Path:
    """The project as a consumer business would have it: its own seeds, the same code."""
    target.mkdir()
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy2(PROJECT_DIR / name, target / name)
    for name in ("models", "macros", "seeds", "snapshots", "tests/dbt", "expectations"):
        shutil.copytree(PROJECT_DIR / name, target / name, ignore=shutil.ignore_patterns("uncommitted"))
    (target / "seeds" / "sales_channels.csv").write_text(
        "sales_channel,description\n"
        + "".join(f"{value},consumer channel\n" for value in sorted(set(SALES_CHANNELS.values())))
    )
    (target / "seeds" / "product_categories.csv").write_text(
        "product_category,description\n"
        + "".join(f"{value},consumer category\n" for value in sorted(set(CATEGORIES.values())))
    )
    return target


def _mapping(column: str, mapping: dict[str, str]) -> str:
    return "CASE " + " ".join(f"WHEN {column} = '{a}' THEN '{b}'" for a, b in mapping.items()) + " END"


def _consumer_landing(generated: Path, landing: Path) -> None:
    """Cut the generated sample down to consumer-shaped files."""
    selects = {
        "customers": "SELECT customer_id, signup_date FROM src",
        "products": f"SELECT product_id, {_mapping('category', CATEGORIES)} AS category, unit_cost FROM src",
        "orders": f"""SELECT order_id, customer_id, ordered_at, status,
                             {_mapping('sales_channel', SALES_CHANNELS)} AS sales_channel FROM src
                      UNION ALL
                      SELECT '{NOT_IN_SEED_ORDER}', min(customer_id), '2025-06-01 10:00:00', 'completed',
                             'telephone' FROM src""",
        "order_lines": "SELECT order_line_id, order_id, product_id, quantity, unit_price FROM src",
        # Returns cost money (a rate per returned order): a build with returns and no rate fails
        # (tests/dbt/assert_cost_every_activity_has_a_rate.sql), for consumers too.
        "cost_rates": "SELECT * FROM src",
    }
    con = duckdb.connect()
    for entity, select in selects.items():
        (landing / entity).mkdir(parents=True)
        pattern = str(generated / "landing" / entity / "*.csv")
        con.execute(f"CREATE OR REPLACE VIEW src AS SELECT * FROM read_csv('{pattern}', all_varchar = true)")
        con.execute(f"COPY ({select}) TO '{landing / entity / (entity + '.csv')}' (HEADER, DELIMITER ',')")
    con.close()


@pytest.fixture(scope="module")
def consumer_run(tmp_path_factory: pytest.TempPathFactory, dbt_artifacts_dir: Path) -> Iterator[ConsumerRun]:
    from segmentation import cli

    root = tmp_path_factory.mktemp("consumer")
    project = _project_copy(root / "project")
    generate(GeneratorConfig(customers=CUSTOMERS, seed=SEED), root / "generated")
    data_dir = root / "data"
    _consumer_landing(root / "generated", data_dir / "landing")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("SEGMENTATION_LANDING_DIR", "SEGMENTATION_RAW_DIR", "SEGMENTATION_WAREHOUSE_PATH",
                     "SEGMENTATION_PUBLISHED_PATH", "SEGMENTATION_PARQUET_DIR", "SEGMENTATION_REPORTS_DIR",
                     "SEGMENTATION_GROUND_TRUTH_DIR", "DAGSTER_HOME"):
            patch.delenv(name, raising=False)
        patch.setenv("SEGMENTATION_PROJECT_DIR", str(project))
        patch.setenv("SEGMENTATION_DATA_DIR", str(data_dir))
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            code = cli.main(["run"])
        assert code == 0, output.getvalue()[-3000:]
    yield ConsumerRun(data_dir, output.getvalue())


def test_the_whole_job_runs_and_passes_the_gate(consumer_run: ConsumerRun) -> None:
    assert "Data quality PASSED" in consumer_run.output
    assert (consumer_run.data_dir / "published" / "warehouse.duckdb").exists()


def test_every_raw_row_is_clean_or_quarantined(consumer_run: ConsumerRun) -> None:
    rows = consumer_run.query("select * from audit.audit_row_reconciliation")
    columns = [c for (c,) in consumer_run.query(
        "select column_name from information_schema.columns where table_schema = 'audit'"
        " and table_name = 'audit_row_reconciliation' order by ordinal_position")]
    by_entity = {row[columns.index("entity")]: dict(zip(columns, row, strict=True)) for row in rows}
    assert by_entity["customers"]["raw_rows"] > CUSTOMERS
    for entity, row in by_entity.items():
        assert row["is_reconciled"], (entity, row)


def test_a_channel_the_seed_does_not_list_is_quarantined_naming_the_seed(consumer_run: ConsumerRun) -> None:
    reasons = consumer_run.query(
        f"select quarantine_reason from audit.audit_quarantine where record_key = '{NOT_IN_SEED_ORDER}'")
    assert reasons == [("sales_channel_not_in_seeds/sales_channels.csv",)]
    # The business's own values are clean: no other order is quarantined for its channel.
    assert consumer_run.scalar(
        "select count(*) from audit.audit_quarantine where quarantine_reason like '%not_in_seeds%'") == 1


def test_every_customer_gets_a_tier_segments_clv_and_a_service_assignment(consumer_run: ConsumerRun) -> None:
    customers = consumer_run.scalar("select count(*) from marts.dim_customer_segments")
    # Every clean customer of the generated sample (ids are unique; duplicates are quarantined).
    assert customers == CUSTOMERS
    for mart in ("customer_service_assignment", "customer_clv", "customer_service_handoff",
                 "customer_next_best_actions"):
        assert consumer_run.scalar(
            f"select count(distinct customer_id) from marts.{mart}") == customers, mart
    assert consumer_run.scalar(
        "select count(*) from marts.dim_customer_segments where value_tier is null"
        " or effective_service_level is null or routing_queue is null") == 0
    assert consumer_run.scalar("select count(distinct value_tier) from marts.dim_customer_segments") >= 4
    assert consumer_run.scalar("select count(*) from marts.dim_customer_segments where predicted_clv is null") == 0
    assert consumer_run.scalar(
        "select count(*) from marts.dim_customer_segments where predicted_clv > 0") > customers / 2


def test_segments_that_need_firmographics_are_omitted_not_filled(consumer_run: ConsumerRun) -> None:
    families = dict(consumer_run.query(
        "select segment_family, count(distinct customer_id) from marts.customer_segment_memberships group by 1"))
    assert "firmographic_group" not in families
    assert set(families) == {"value_tier", "lifecycle_stage", "churn_risk", "support_channel",
                             "support_intensity", "product_adoption", "service_plan"}
    assert set(families.values()) == {CUSTOMERS}
    assert consumer_run.scalar(
        "select count(*) from marts.dim_customer_segments where firmographic_group is not null"
        " or industry is not null or company_size_band is not null") == 0


def test_the_consumer_categories_drive_the_upsell(consumer_run: ConsumerRun) -> None:
    upsell = {c for (c,) in consumer_run.query(
        "select distinct recommended_category from marts.customer_next_best_actions"
        " where recommended_category is not null")}
    assert upsell and upsell <= set(CATEGORIES.values())


def test_the_value_prior_falls_back_when_its_attributes_are_empty(consumer_run: ConsumerRun) -> None:
    """No size group, no acquisition channel, no plan: the prior compares every customer with
    every reference customer, one cell, rather than failing or inventing groups."""
    con = duckdb.connect(str(consumer_run.data_dir / "warehouse.duckdb"), read_only=True)
    try:
        cells = con.execute(
            "select value_prior_key, count(*) from intermediate.int_segment_value_tiers_assigned group by 1"
        ).fetchall()
    finally:
        con.close()
    assert cells == [("none / unknown / (none)", CUSTOMERS)]
