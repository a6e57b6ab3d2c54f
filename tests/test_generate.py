"""The sample-data generator: deterministic, on contract, realistic, with known defects.

The distribution bands are computed by a reference SQL over the CSV files written here,
using the warehouse's metric definitions (docs: DOMAIN.md) and not the generator's code, so
a generator change that breaks the shape the rest of the project relies on fails here.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pytest
import yaml

from segmentation.ingest.contract import seed_values
from segmentation.sample.generate import ENTITIES, GenerationSummary, GeneratorConfig, generate

PROJECT_DIR = Path(__file__).resolve().parent.parent
SOURCES_YML = PROJECT_DIR / "models" / "staging" / "landing" / "_landing__sources.yml"
CONFIG = GeneratorConfig(customers=3_000, seed=7)
SMALL = GeneratorConfig(customers=600, chunk_customers=250, seed=11)

# The loader's SQL types per contract type.
SQL_TYPES = {
    "varchar": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DECIMAL(18, 4)",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
}
KEYS = {
    "customers": "customer_id",
    "orders": "order_id",
    "order_lines": "order_line_id",
    "support_tickets": "ticket_id",
}


# --------------------------------------------------------------------------------------
# Fixtures and helpers
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractColumn:
    name: str
    type: str
    nullable: bool
    allowed: tuple[str, ...]


def load_contract() -> dict[str, list[ContractColumn]]:
    """Entity -> columns in contract order, straight from the sources YAML."""
    document = yaml.safe_load(SOURCES_YML.read_text(encoding="utf-8"))
    (source,) = [s for s in document["sources"] if s["name"] == "landing"]
    contract: dict[str, list[ContractColumn]] = {}
    for table in source["tables"]:
        columns = []
        for column in table["columns"]:
            meta = column["config"]["meta"]["contract"]
            columns.append(
                ContractColumn(
                    name=column["name"],
                    type=meta["type"],
                    nullable=bool(meta.get("nullable", False)),
                    # A seed's values (seeds/<name>.csv, first column) when the contract names one.
                    allowed=tuple(str(v) for v in meta.get("allowed", ()))
                    or (seed_values(meta["allowed_seed"]) if meta.get("allowed_seed") else ()),
                )
            )
        contract[table["name"]] = columns
    return contract


@dataclass(frozen=True)
class Sample:
    """One generated data set, typed into an in-memory DuckDB as raw_<entity> views."""

    config: GeneratorConfig
    summary: GenerationSummary
    out_dir: Path
    con: duckdb.DuckDBPyConnection

    @property
    def start(self) -> datetime.date:
        """First day of the history: the day after end_date minus whole years."""
        end = self.config.end_date
        year = end.year - self.config.years
        back = end.replace(year=year, day=28) if (end.month, end.day) == (2, 29) else end.replace(year=year)
        return back + datetime.timedelta(days=1)

    def scalar(self, sql: str) -> object:
        return self.con.execute(sql).fetchone()[0]

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()


def open_sample(config: GeneratorConfig, out_dir: Path, summary: GenerationSummary) -> Sample:
    """Read every landing file with the contract's types (as the loader would)."""
    con = duckdb.connect()
    for entity, columns in load_contract().items():
        types = ", ".join(f"'{c.name}': '{SQL_TYPES[c.type]}'" for c in columns)
        pattern = out_dir / "landing" / entity / "*.csv"
        con.execute(
            f"CREATE VIEW raw_{entity} AS SELECT *, filename AS source_file "
            f"FROM read_csv('{pattern}', header = true, columns = {{{types}}}, "
            f"filename = true, auto_detect = false)"
        )
    for name in ("customers", "injected_defects"):
        path = out_dir / "ground_truth" / f"{name}.csv"
        con.execute(f"CREATE VIEW truth_{name} AS SELECT * FROM read_csv('{path}', header = true)")
    return Sample(config=config, summary=summary, out_dir=out_dir, con=con)


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    out_dir = tmp_path_factory.mktemp("generated")
    summary = generate(CONFIG, out_dir)
    return open_sample(CONFIG, out_dir, summary)


@pytest.fixture(scope="session")
def profit(sample: Sample) -> Sample:
    """The sample with quarantine views and a per-customer `profit` table (reference SQL)."""
    sample.con.execute(quarantine_sql(sample.config))
    sample.con.execute(profit_sql(sample.start, sample.config.end_date))
    return sample


def file_hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*.csv"))
    }


# --------------------------------------------------------------------------------------
# Reference SQL: quarantine rules and the warehouse's profit definitions
# --------------------------------------------------------------------------------------


def quarantine_sql(config: GeneratorConfig) -> str:
    """Clean views: the business rules the warehouse quarantines on."""
    latest_order = config.end_date + datetime.timedelta(days=30)
    return f"""
        CREATE VIEW customers AS
            SELECT * FROM raw_customers
            QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY source_file) = 1;
        CREATE VIEW products AS SELECT * FROM raw_products;
        CREATE VIEW orders AS
            SELECT * FROM raw_orders
            WHERE customer_id IN (SELECT customer_id FROM customers)
              AND ordered_at < DATE '{latest_order}' + 1
              AND coalesce(currency, 'USD') = 'USD'
            QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY source_file) = 1;
        CREATE VIEW order_lines AS
            SELECT l.* FROM raw_order_lines AS l
            WHERE l.quantity > 0
              AND l.order_id IN (SELECT order_id FROM orders)
              AND l.product_id IN (SELECT product_id FROM products);
        CREATE VIEW tickets AS
            SELECT * FROM raw_support_tickets
            WHERE customer_id IN (SELECT customer_id FROM customers)
              AND (closed_at IS NULL OR closed_at >= opened_at)
            QUALIFY row_number() OVER (PARTITION BY ticket_id ORDER BY source_file) = 1;
        CREATE VIEW rates AS
            SELECT activity, channel, valid_from,
                   coalesce(valid_to, DATE '9999-12-31') AS valid_to, rate
            FROM raw_cost_rates;
    """


def profit_sql(start: datetime.date, end: datetime.date) -> str:
    """Per customer: revenue, cogs, cost to serve, acquisition cost and net profit."""
    return f"""
    CREATE TABLE profit AS
    WITH
    lines AS (
        SELECT o.customer_id,
               sum(CASE WHEN o.status = 'completed'
                        THEN l.quantity * l.unit_price - coalesce(l.discount_amount, 0) END)
                   AS order_revenue,
               sum(CASE WHEN o.status = 'completed' THEN l.quantity * p.unit_cost END) AS cogs
        FROM order_lines AS l
        JOIN orders AS o USING (order_id)
        JOIN products AS p USING (product_id)
        GROUP BY 1
    ),
    fees AS (
        SELECT customer_id,
               sum(annual_fee * greatest(0, date_diff('day',
                       greatest(start_date, DATE '{start}'),
                       least(coalesce(end_date, DATE '{end}'), DATE '{end}')) + 1) / 365.0)
                   AS fee_revenue
        FROM raw_service_contracts
        GROUP BY 1
    ),
    support AS (
        SELECT t.customer_id,
               sum(t.handle_minutes * m.rate + CASE WHEN t.is_escalated THEN e.rate ELSE 0 END)
                   AS support_cost
        FROM tickets AS t
        JOIN rates AS m
          ON m.activity = 'support_minute' AND m.channel = t.channel
         AND t.opened_at::DATE >= m.valid_from AND t.opened_at::DATE < m.valid_to
        JOIN rates AS e
          ON e.activity = 'escalation'
         AND t.opened_at::DATE >= e.valid_from AND t.opened_at::DATE < e.valid_to
        GROUP BY 1
    ),
    handling AS (
        SELECT o.customer_id,
               sum(CASE WHEN o.status = 'returned' THEN r.rate ELSE 0 END)
             + sum(CASE WHEN coalesce(o.is_expedited, false)
                         AND o.status IN ('completed', 'returned') THEN x.rate ELSE 0 END)
                   AS handling_cost
        FROM orders AS o
        JOIN rates AS r
          ON r.activity = 'return'
         AND o.ordered_at::DATE >= r.valid_from AND o.ordered_at::DATE < r.valid_to
        JOIN rates AS x
          ON x.activity = 'expedited_order'
         AND o.ordered_at::DATE >= x.valid_from AND o.ordered_at::DATE < x.valid_to
        GROUP BY 1
    ),
    managers AS (
        SELECT account_manager_id, count(*) AS customers
        FROM customers WHERE account_manager_id IS NOT NULL GROUP BY 1
    ),
    management AS (
        SELECT c.customer_id,
               a.rate / m.customers * (date_diff('day', c.signup_date, DATE '{end}') + 1) / 365.0
                   AS management_cost
        FROM customers AS c
        JOIN managers AS m USING (account_manager_id)
        JOIN rates AS a
          ON a.activity = 'account_manager_year'
         AND DATE '{end}' >= a.valid_from AND DATE '{end}' < a.valid_to
    ),
    cohorts AS (
        SELECT acquisition_channel, date_trunc('month', signup_date) AS spend_month,
               count(*) AS customers
        FROM customers GROUP BY ALL
    ),
    acquisition AS (
        SELECT c.customer_id,
               coalesce(c.acquisition_cost, s.spend_amount / k.customers, 0) AS acquisition_cost
        FROM customers AS c
        LEFT JOIN cohorts AS k
          ON k.acquisition_channel = c.acquisition_channel
         AND k.spend_month = date_trunc('month', c.signup_date)
        LEFT JOIN raw_acquisition_spend AS s
          ON s.acquisition_channel = c.acquisition_channel
         AND s.spend_month = date_trunc('month', c.signup_date)
    ),
    final AS (
        SELECT c.customer_id,
               g.value_class,
               (date_diff('day', c.signup_date, DATE '{end}') + 1) / 365.0 AS tenure_years,
               coalesce(l.order_revenue, 0) + coalesce(f.fee_revenue, 0) AS revenue,
               coalesce(l.cogs, 0) AS cogs,
               coalesce(s.support_cost, 0) AS support_cost,
               coalesce(s.support_cost, 0) + coalesce(h.handling_cost, 0)
                   + coalesce(m.management_cost, 0) AS cost_to_serve,
               a.acquisition_cost
        FROM customers AS c
        JOIN truth_customers AS g USING (customer_id)
        LEFT JOIN lines AS l USING (customer_id)
        LEFT JOIN fees AS f USING (customer_id)
        LEFT JOIN support AS s USING (customer_id)
        LEFT JOIN handling AS h USING (customer_id)
        LEFT JOIN management AS m USING (customer_id)
        LEFT JOIN acquisition AS a USING (customer_id)
    )
    SELECT *, (revenue - cogs - cost_to_serve - acquisition_cost)::DOUBLE AS net_profit
    FROM final
    """


# --------------------------------------------------------------------------------------
# Determinism and layout
# --------------------------------------------------------------------------------------


def test_same_config_gives_byte_identical_files(tmp_path: Path) -> None:
    generate(SMALL, tmp_path / "a")
    generate(SMALL, tmp_path / "b")

    assert file_hashes(tmp_path / "a") == file_hashes(tmp_path / "b")


def test_a_different_seed_gives_different_files(tmp_path: Path) -> None:
    generate(SMALL, tmp_path / "a")
    generate(GeneratorConfig(customers=600, chunk_customers=250, seed=12), tmp_path / "b")

    a, b = file_hashes(tmp_path / "a"), file_hashes(tmp_path / "b")
    assert a.keys() == b.keys()
    assert all(a[name] != b[name] for name in a if "cost_rates" not in name)


def test_chunks_write_one_part_per_chunk_with_keys_unique_across_parts(tmp_path: Path) -> None:
    summary = generate(SMALL, tmp_path)

    parts = sorted(p.name for p in (tmp_path / "landing" / "orders").iterdir())
    assert parts == [f"orders_part-{i:04d}.csv" for i in (1, 2, 3)]
    sample = open_sample(SMALL, tmp_path, summary)
    for entity, key in KEYS.items():
        duplicates = sample.scalar(
            f"SELECT count(*) FROM truth_injected_defects WHERE entity = '{entity}' AND defect = 'duplicate_id'"
        )
        assert sample.scalar(f"SELECT count(*) - count(DISTINCT {key}) FROM raw_{entity}") == (duplicates)
    assert sample.scalar("SELECT count(*) FROM truth_customers") == SMALL.customers


def test_every_entity_is_written_and_counted(sample: Sample) -> None:
    for entity in ENTITIES:
        files = sorted((sample.out_dir / "landing" / entity).glob(f"{entity}_part-*.csv"))
        assert files, entity
        rows = sum(len(f.read_text(encoding="utf-8").splitlines()) - 1 for f in files)
        assert rows == sample.summary.rows[entity], entity
    assert 150 <= sample.summary.rows["products"] <= 250


def test_regenerating_replaces_own_files_and_leaves_no_temp_folders(tmp_path: Path) -> None:
    generate(SMALL, tmp_path)
    stale = tmp_path / "landing" / "orders" / "orders_part-0099.csv"
    stale.write_text("order_id\n", encoding="utf-8")
    foreign = tmp_path / "landing" / "my_extra_entity" / "keep.csv"
    foreign.parent.mkdir()
    foreign.write_text("x\n", encoding="utf-8")

    generate(GeneratorConfig(customers=200, seed=11), tmp_path)

    assert not stale.exists()
    assert foreign.exists()
    assert sorted(p.name for p in (tmp_path / "landing" / "orders").iterdir()) == ["orders_part-0001.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ground_truth", "landing"]


# --------------------------------------------------------------------------------------
# The contract
# --------------------------------------------------------------------------------------


def test_files_have_exactly_the_contract_columns_in_order(sample: Sample) -> None:
    for entity, columns in load_contract().items():
        for path in (sample.out_dir / "landing" / entity).glob("*.csv"):
            header = path.read_text(encoding="utf-8").split("\n", 1)[0]
            assert header.split(",") == [c.name for c in columns], path.name


def test_clean_rows_use_only_allowed_values_and_fill_required_columns(sample: Sample) -> None:
    for entity, columns in load_contract().items():
        for column in columns:
            if not column.nullable:
                nulls = sample.scalar(f"SELECT count(*) FROM raw_{entity} WHERE {column.name} IS NULL")
                assert nulls == 0, f"{entity}.{column.name}"
            if column.allowed:
                allowed = ", ".join(f"'{v}'" for v in column.allowed)
                bad = sample.rows(
                    f"SELECT DISTINCT {column.name} FROM raw_{entity} WHERE {column.name} NOT IN ({allowed})"
                )
                assert bad == [], f"{entity}.{column.name}"


def test_currency_is_usd_or_empty_except_injected_mismatches(sample: Sample) -> None:
    for entity in ("orders", "cost_rates", "acquisition_spend", "service_contracts"):
        other = sample.scalar(f"SELECT count(*) FROM raw_{entity} WHERE coalesce(currency, 'USD') <> 'USD'")
        expected = sample.scalar(
            f"SELECT count(*) FROM truth_injected_defects WHERE defect = 'currency_mismatch' AND entity = '{entity}'"
        )
        assert other == expected, entity


def test_dates_lie_inside_the_history(sample: Sample) -> None:
    start, end = sample.start, sample.config.end_date
    inside = f"BETWEEN TIMESTAMP '{start}' AND TIMESTAMP '{end} 23:59:59'"
    future = "SELECT record_key FROM truth_injected_defects WHERE defect = 'ordered_in_future'"
    checks = {
        "customers": f"signup_date {inside}",
        "orders": f"ordered_at {inside} OR order_id IN ({future})",
        "support_tickets": f"opened_at {inside} AND coalesce(closed_at, opened_at) {inside}",
        "service_contracts": f"start_date {inside} AND (end_date IS NULL OR end_date >= start_date)",
        "acquisition_spend": f"spend_month BETWEEN date_trunc('month', DATE '{start}') AND '{end}'",
        "cost_rates": f"valid_from {inside}",
    }
    for entity, condition in checks.items():
        outside = sample.scalar(f"SELECT count(*) FROM raw_{entity} WHERE NOT ({condition})")
        assert outside == 0, entity


def test_orders_tickets_and_contracts_start_on_or_after_signup(sample: Sample) -> None:
    for entity, column in (
        ("orders", "ordered_at"),
        ("support_tickets", "opened_at"),
        ("service_contracts", "start_date"),
    ):
        early = sample.scalar(
            f"SELECT count(*) FROM raw_{entity} AS x JOIN raw_customers AS c USING (customer_id) "
            f"WHERE x.{column} < c.signup_date"
        )
        assert early == 0, entity


def test_cost_rates_cover_the_history_and_change_once_for_phone(sample: Sample) -> None:
    start = sample.start
    activities = sample.rows(
        f"SELECT activity, coalesce(channel, '') FROM raw_cost_rates WHERE valid_from = DATE '{start}' ORDER BY ALL"
    )
    assert len(activities) == 10
    phone = sample.rows(
        "SELECT valid_from, valid_to, rate FROM raw_cost_rates WHERE channel = 'phone' ORDER BY valid_from"
    )
    assert len(phone) == 2
    assert phone[0][1] == phone[1][0] and phone[0][1].month == 7 and phone[0][1].day == 1
    assert phone[1][2] > phone[0][2]


def test_service_plans_match_contracts(sample: Sample) -> None:
    mismatched = sample.scalar(
        "SELECT count(*) FROM (SELECT DISTINCT customer_id, service_plan FROM raw_customers "
        "WHERE service_plan IS NOT NULL) AS c "
        "FULL JOIN raw_service_contracts AS s USING (customer_id) "
        "WHERE c.service_plan IS DISTINCT FROM s.plan"
    )
    assert mismatched == 0
    assert sample.scalar("SELECT count(*) FROM raw_service_contracts") > 0


def test_account_managers_cover_twenty_to_forty_customers(sample: Sample) -> None:
    sizes = sample.rows(
        "SELECT count(DISTINCT customer_id) FROM raw_customers "
        "WHERE account_manager_id IS NOT NULL GROUP BY account_manager_id"
    )
    assert sizes and all(20 <= n <= 40 for (n,) in sizes)
    unmanaged_platinum = sample.scalar(
        "SELECT count(*) FROM truth_customers WHERE value_class = 'platinum' AND account_manager_id IS NULL"
    )
    assert unmanaged_platinum == 0


def test_acquisition_cost_is_known_only_for_field_sales(sample: Sample) -> None:
    channels = sample.rows("SELECT DISTINCT acquisition_channel FROM raw_customers WHERE acquisition_cost IS NOT NULL")
    assert channels == [("field_sales",)]
    missing_spend = sample.scalar(
        "SELECT count(*) FROM raw_customers AS c LEFT JOIN raw_acquisition_spend AS s "
        "ON s.acquisition_channel = c.acquisition_channel "
        "AND s.spend_month = date_trunc('month', c.signup_date) "
        "WHERE c.acquisition_cost IS NULL AND s.spend_amount IS NULL"
    )
    assert missing_spend == 0


def test_tickets_show_open_items_missing_csat_and_escalations(sample: Sample) -> None:
    open_tickets, no_csat, escalated = sample.rows(
        "SELECT count(*) FILTER (closed_at IS NULL), count(*) FILTER (csat_score IS NULL), "
        "count(*) FILTER (is_escalated) FROM raw_support_tickets"
    )[0]
    assert open_tickets > 0 and no_csat > 0 and escalated > 0
    assert sample.scalar(
        "SELECT min(opened_at) FROM raw_support_tickets WHERE closed_at IS NULL"
    ) >= datetime.datetime.combine(sample.config.end_date, datetime.time()) - datetime.timedelta(days=30)


def test_most_tickets_use_the_customers_preferred_channel(sample: Sample) -> None:
    share = sample.scalar(
        "SELECT avg((t.channel = g.preferred_support_channel)::INTEGER) "
        "FROM raw_support_tickets AS t JOIN truth_customers AS g USING (customer_id)"
    )
    assert share >= 0.75


# --------------------------------------------------------------------------------------
# Distribution bands (reference SQL over the files)
# --------------------------------------------------------------------------------------


def top_share(profit: Sample) -> float:
    return profit.scalar(
        "SELECT sum(net_profit) FILTER (rank <= ceil(0.2 * n)) / sum(net_profit) FROM ("
        "SELECT net_profit, row_number() OVER (ORDER BY net_profit DESC) AS rank, "
        "count(*) OVER () AS n FROM profit)"
    )


def test_top_fifth_of_customers_brings_60_to_85_percent_of_net_profit(profit: Sample) -> None:
    assert 0.60 <= top_share(profit) <= 0.85


def test_five_to_ten_percent_of_customers_lose_money(profit: Sample) -> None:
    share = profit.scalar("SELECT avg((net_profit < 0)::INTEGER) FROM profit")
    assert 0.05 <= share <= 0.10


def test_ten_to_thirty_percent_are_one_time_buyers(profit: Sample) -> None:
    share = profit.scalar(
        "SELECT avg((orders = 1)::INTEGER) FROM (SELECT customer_id, count(*) AS orders FROM orders GROUP BY 1)"
    )
    assert 0.10 <= share <= 0.30


def test_customers_sign_up_in_every_year_of_the_history(sample: Sample) -> None:
    end = sample.config.end_date
    for back in range(sample.config.years):
        year_end = end.replace(year=end.year - back)
        year_start = end.replace(year=end.year - back - 1) + datetime.timedelta(days=1)
        signups = sample.scalar(
            f"SELECT count(*) FROM raw_customers WHERE signup_date BETWEEN DATE '{year_start}' AND DATE '{year_end}'"
        )
        assert signups >= 0.15 * sample.config.customers, year_end


def test_onboarding_tickets_come_in_the_first_30_days(profit: Sample) -> None:
    early_onboarding, early_other, onboarded = profit.rows(
        "SELECT avg((t.opened_at < c.signup_date + 30) ::INTEGER) FILTER (category = 'onboarding'),"
        " avg((t.opened_at < c.signup_date + 30) ::INTEGER) FILTER (category <> 'onboarding'),"
        " count(DISTINCT customer_id) FILTER (category = 'onboarding') "
        "FROM tickets AS t JOIN customers AS c USING (customer_id)"
    )[0]
    assert early_onboarding == 1.0
    assert early_other < 0.15
    assert onboarded >= 0.75 * profit.config.customers


def test_negative_class_has_the_highest_support_cost_per_customer(profit: Sample) -> None:
    ranking = profit.rows("SELECT value_class FROM profit GROUP BY 1 ORDER BY avg(support_cost) DESC")
    assert ranking[0] == ("negative",)


def test_value_classes_have_several_fold_steps_in_value_per_year(profit: Sample) -> None:
    medians = dict(
        profit.rows(
            "SELECT value_class, median(net_profit / tenure_years) FROM profit WHERE tenure_years >= 1 GROUP BY 1"
        )
    )
    assert medians["negative"] < 0 < medians["bronze"]
    for high, low in (("platinum", "gold"), ("gold", "silver"), ("silver", "bronze")):
        assert medians[high] >= 2.5 * medians[low], (high, low)


def test_value_classes_are_recoverable_from_the_data(profit: Sample) -> None:
    """Simple tiers match the latent class: loss-making is negative, the rest ranked by net
    profit per year in the class shares (5% / 15% / 30% / rest). Customers younger than a
    year are left out: a few weeks of history say little about value per year."""
    agreement = profit.scalar(
        """
        WITH ranked AS (
            SELECT value_class, net_profit,
                   percent_rank() OVER (ORDER BY net_profit / tenure_years DESC) AS pct
            FROM profit WHERE tenure_years >= 1
        )
        SELECT avg((value_class = CASE WHEN net_profit < 0 THEN 'negative'
                                       WHEN pct < 0.05 THEN 'platinum'
                                       WHEN pct < 0.20 THEN 'gold'
                                       WHEN pct < 0.50 THEN 'silver'
                                       ELSE 'bronze' END)::INTEGER)
        FROM ranked
        """
    )
    assert agreement >= 0.90


# --------------------------------------------------------------------------------------
# Defects
# --------------------------------------------------------------------------------------


def test_defect_counts_follow_the_defect_rate(sample: Sample) -> None:
    counts = dict(sample.rows("SELECT entity, count(*) FROM truth_injected_defects GROUP BY 1"))
    assert sum(counts.values()) == sample.summary.defects
    for entity, defects in counts.items():
        clean = sample.summary.rows[entity] - defects
        expected = sample.config.defect_rate * clean
        assert max(1, 0.8 * expected - 4) <= defects <= 1.2 * expected + 4, entity
    kinds = {d for (d,) in sample.rows("SELECT DISTINCT defect FROM truth_injected_defects")}
    assert kinds == {
        "duplicate_id",
        "unknown_customer",
        "unknown_product",
        "non_positive_quantity",
        "ordered_in_future",
        "closed_before_opened",
        "currency_mismatch",
    }


def test_every_listed_defect_is_in_its_file_and_breaks_its_rule(sample: Sample) -> None:
    for entity, key in KEYS.items():
        found = sample.rows(
            f"SELECT d.defect, d.source_file, count(x.{key}) AS copies, "
            f"bool_and(x.source_file LIKE '%' || d.source_file) AS in_listed_file "
            f"FROM truth_injected_defects AS d LEFT JOIN raw_{entity} AS x "
            f"ON x.{key} = d.record_key WHERE d.entity = '{entity}' GROUP BY d.defect, d.source_file, d.record_key"
        )
        for defect, source, copies, in_listed_file in found:
            assert copies == (2 if defect == "duplicate_id" else 1), (entity, defect, source)
            assert in_listed_file, (entity, defect, source)
    rules = {
        "unknown_customer": "SELECT count(*) FROM raw_orders WHERE customer_id IN "
        "(SELECT customer_id FROM raw_customers) AND order_id IN ({keys})",
        "unknown_product": "SELECT count(*) FROM raw_order_lines WHERE product_id IN "
        "(SELECT product_id FROM raw_products) AND order_line_id IN ({keys})",
        "non_positive_quantity": "SELECT count(*) FROM raw_order_lines WHERE quantity > 0 "
        "AND order_line_id IN ({keys})",
        "ordered_in_future": "SELECT count(*) FROM raw_orders WHERE ordered_at <= "
        f"DATE '{sample.config.end_date}' + 365 * 70 AND order_id IN ({{keys}})",
        "closed_before_opened": "SELECT count(*) FROM raw_support_tickets "
        "WHERE closed_at >= opened_at AND ticket_id IN ({keys})",
    }
    for defect, sql in rules.items():
        keys = f"SELECT record_key FROM truth_injected_defects WHERE defect = '{defect}'"
        assert sample.scalar(sql.format(keys=keys)) == 0, defect


@pytest.mark.parametrize(
    ("years", "end_date"),
    [(1, datetime.date(2024, 2, 29)), (5, datetime.date(2025, 6, 15))],
)
def test_other_history_lengths_and_end_dates_stay_inside_the_history(
    tmp_path: Path, years: int, end_date: datetime.date
) -> None:
    config = GeneratorConfig(customers=400, years=years, end_date=end_date, seed=3)
    sample = open_sample(config, tmp_path, generate(config, tmp_path))

    first, last = sample.rows("SELECT min(signup_date), max(signup_date) FROM raw_customers")[0]
    assert sample.start <= first and last <= end_date
    latest_order = sample.scalar(
        "SELECT max(ordered_at) FROM raw_orders WHERE order_id NOT IN (SELECT record_key "
        "FROM truth_injected_defects WHERE defect = 'ordered_in_future')"
    )
    assert latest_order.date() <= end_date
    (change,) = sample.rows("SELECT valid_to FROM raw_cost_rates WHERE valid_to IS NOT NULL")[0]
    assert sample.start < change <= end_date and (change.month, change.day) == (7, 1)


def test_zero_defect_rate_gives_clean_data(tmp_path: Path) -> None:
    summary = generate(GeneratorConfig(customers=300, defect_rate=0.0), tmp_path)

    assert summary.defects == 0
    log = (tmp_path / "ground_truth" / "injected_defects.csv").read_text(encoding="utf-8")
    assert log.splitlines() == ["entity,record_key,source_file,defect"]


# --------------------------------------------------------------------------------------
# First responses (support_tickets.first_response_at)
# --------------------------------------------------------------------------------------


def test_first_responses_come_after_opening_and_never_in_self_service(sample: Sample) -> None:
    by_channel = dict(
        (channel, (tickets, answered, median_hours))
        for channel, tickets, answered, median_hours in sample.rows(
            "SELECT channel, count(*), count(first_response_at),"
            " median(date_diff('second', opened_at, first_response_at) / 3600.0)"
            " FROM raw_support_tickets GROUP BY channel"
        )
    )
    assert by_channel["self_service"][1] == by_channel["community"][1] == 0
    for channel in ("phone", "chat", "email", "virtual_agent"):
        tickets, answered, _ = by_channel[channel]
        assert answered >= 0.99 * tickets, channel
    # Phone and chat are answered within minutes, email within hours.
    assert by_channel["phone"][2] < 0.25 and by_channel["chat"][2] < 0.25
    assert 0.5 < by_channel["email"][2] < 12
    # Only the closed_before_opened defects are answered after they were "closed".
    assert sample.scalar(
        "SELECT count(*) FROM raw_support_tickets WHERE (first_response_at < opened_at"
        " OR first_response_at > closed_at) AND ticket_id NOT IN (SELECT record_key"
        " FROM truth_injected_defects WHERE defect = 'closed_before_opened')"
    ) == 0


def test_valuable_customers_are_answered_faster(sample: Sample) -> None:
    median_email_hours = dict(
        sample.rows(
            "SELECT truth.value_class, median(date_diff('second', t.opened_at, t.first_response_at) / 3600.0)"
            " FROM raw_support_tickets t JOIN truth_customers truth USING (customer_id)"
            " WHERE t.channel = 'email' GROUP BY truth.value_class"
        )
    )
    assert median_email_hours["platinum"] < median_email_hours["silver"] < median_email_hours["negative"]


def test_first_responses_do_not_change_any_other_sample_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first responses come from their own random stream: without them (every ticket
    unanswered), every other value of every file is the same."""
    from segmentation.sample import generate as generator

    generate(SMALL, tmp_path / "with")
    monkeypatch.setattr(
        generator, "_first_responses",
        lambda rng, channel, *args: np.full(channel.shape[0], generator.NO_TIME, dtype=np.int64),
    )
    generate(SMALL, tmp_path / "without")

    with_hashes, without_hashes = file_hashes(tmp_path / "with"), file_hashes(tmp_path / "without")
    tickets = {name for name in with_hashes if "support_tickets" in name}
    assert tickets and {k: v for k, v in with_hashes.items() if k not in tickets} == {
        k: v for k, v in without_hashes.items() if k not in tickets
    }
    con = duckdb.connect()
    for name in tickets:
        with_rows, without_rows = (
            con.execute(
                f"SELECT * EXCLUDE (first_response_at) FROM read_csv('{root / name}', all_varchar = true)"
            ).fetchall()
            for root in (tmp_path / "with", tmp_path / "without")
        )
        assert with_rows == without_rows
        assert con.execute(
            f"SELECT count(first_response_at) FROM read_csv('{tmp_path / 'with' / name}', all_varchar = true)"
        ).fetchone()[0] > 0
