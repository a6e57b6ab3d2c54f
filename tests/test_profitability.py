"""Customer profitability on the generated sample: the shape it was built for, and nothing lost.

Reads the session warehouse (`built_warehouse`, built once by tests/conftest.py with the
default vars, so the review date is the latest clean order date). `dbt build` has already
run the dbt tests (unit tests and the conservation tests in tests/dbt); the checks here
recompute the totals from the validated models in plain SQL, independently of the finance
models, and check the profit-concentration bands the sample generator is calibrated for.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

CENT = 0.01

# Bands the sample generator is built for (DOMAIN.md: about 20% of customers bring 60-80%
# of profit and 5-10% bring negative profit), on the lifetime view.
TOP_FIFTH_PROFIT_SHARE = (0.60, 0.85)
NEGATIVE_PROFIT_CUSTOMER_SHARE = (0.04, 0.12)

REVIEW_DATE = "(SELECT review_date FROM intermediate.int_review_parameters)"
CLEAN_CUSTOMERS = f"""
    SELECT customer_id, signup_date
    FROM intermediate.int_customers_validated
    WHERE NOT is_quarantined AND signup_date <= {REVIEW_DATE}
"""


@pytest.fixture(scope="module")
def warehouse(built_warehouse):
    """The session warehouse (run_dbt releases dbt-duckdb's connection, so it is readable)."""
    return built_warehouse


def lifetime_concentration(warehouse) -> tuple[int, float, float]:
    """(customers, top-20% share of profit, share of customers losing money), computed
    straight from customer_lifetime_profitability."""
    return warehouse.query(
        """
        WITH ranked AS (
            SELECT net_profit,
                   row_number() OVER (ORDER BY net_profit DESC, customer_id) AS profit_rank,
                   count(*) OVER () AS customers
            FROM marts.customer_lifetime_profitability
        )
        SELECT count(*),
               sum(CASE WHEN 5 * profit_rank <= customers THEN net_profit ELSE 0 END)
                   / sum(net_profit),
               avg(CASE WHEN net_profit < 0 THEN 1.0 ELSE 0.0 END)
        FROM ranked
        """
    )[0]


def concentration_row(warehouse, period_type: str) -> dict[str, object]:
    rows = warehouse.query("SELECT * FROM marts.profit_concentration WHERE period_type = ?", [period_type])
    assert len(rows) == 1, f"expected one {period_type} row in profit_concentration"
    names = [
        row[0]
        for row in warehouse.query(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'marts' AND table_name = 'profit_concentration' "
            "ORDER BY ordinal_position"
        )
    ]
    return dict(zip(names, rows[0], strict=True))


# --------------------------------------------------------------------------------------
# Profit concentration bands
# --------------------------------------------------------------------------------------


def test_top_fifth_of_customers_brings_60_to_85_percent_of_lifetime_profit(
    warehouse,
) -> None:
    _, top_share, _ = lifetime_concentration(warehouse)

    low, high = TOP_FIFTH_PROFIT_SHARE
    assert low <= top_share <= high, f"top-20% share of lifetime profit is {top_share:.3f}"


def test_four_to_twelve_percent_of_customers_have_negative_lifetime_profit(
    warehouse,
) -> None:
    _, _, negative_share = lifetime_concentration(warehouse)

    low, high = NEGATIVE_PROFIT_CUSTOMER_SHARE
    assert low <= negative_share <= high, f"share of customers with negative lifetime profit is {negative_share:.3f}"


def test_profit_concentration_lifetime_row_matches_the_lifetime_mart(warehouse) -> None:
    customers, top_share, negative_share = lifetime_concentration(warehouse)
    row = concentration_row(warehouse, "lifetime")

    assert row["customers"] == customers
    assert row["top_20pct_profit_share"] == pytest.approx(top_share, rel=1e-9)
    assert row["negative_profit_customer_share"] == pytest.approx(negative_share, rel=1e-9)
    assert row["break_even_customer_share"] == pytest.approx(1 - negative_share, rel=1e-9)
    assert row["peak_cumulative_profit_share"] >= 1


def test_rolling_window_concentration_is_read_off_its_whale_curve(warehouse) -> None:
    row = concentration_row(warehouse, "rolling_12m")
    top_share, peak_share, customers = warehouse.query(
        """
        WITH ranked AS (
            SELECT net_profit,
                   row_number() OVER (ORDER BY net_profit DESC, customer_id) AS profit_rank,
                   count(*) OVER () AS customers,
                   sum(net_profit) OVER (ORDER BY net_profit DESC, customer_id
                                         ROWS UNBOUNDED PRECEDING) AS cumulative
            FROM marts.customer_profitability WHERE period_type = 'rolling_12m'
        )
        SELECT sum(CASE WHEN 5 * profit_rank <= customers THEN net_profit ELSE 0 END)
                   / sum(net_profit),
               greatest(max(cumulative), 0) / sum(net_profit),
               count(*)
        FROM ranked
        """
    )[0]

    assert row["customers"] == customers
    assert row["top_20pct_profit_share"] == pytest.approx(top_share, rel=1e-9)
    assert row["peak_cumulative_profit_share"] == pytest.approx(peak_share, rel=1e-9)
    assert row["period_end"] == warehouse.scalar(f"SELECT {REVIEW_DATE}")


def test_rolling_window_concentration_is_inside_the_bands(warehouse) -> None:
    """The same bands hold for the rolling window ending on the review date, which is the
    latest clean order date, so it lies inside the generated history."""
    assert warehouse.scalar(f"SELECT {REVIEW_DATE}") <= warehouse.scalar(
        "SELECT max(cast(ordered_at AS date)) FROM raw.orders WHERE ordered_at < DATE '2090-01-01'"
    ), "the default review date must not run past the generated history"
    row = concentration_row(warehouse, "rolling_12m")

    low, high = TOP_FIFTH_PROFIT_SHARE
    assert low <= row["top_20pct_profit_share"] <= high
    low, high = NEGATIVE_PROFIT_CUSTOMER_SHARE
    assert low <= row["negative_profit_customer_share"] <= high


# --------------------------------------------------------------------------------------
# Conservation: nothing is lost between the clean data and the marts
# --------------------------------------------------------------------------------------


def test_lifetime_order_revenue_equals_clean_completed_order_lines(warehouse) -> None:
    expected = warehouse.scalar(
        f"""
        SELECT sum(l.quantity * l.unit_price - l.discount_amount)
        FROM intermediate.int_order_lines_validated AS l
        JOIN intermediate.int_orders_validated AS o USING (order_id)
        WHERE NOT l.is_quarantined AND NOT o.is_quarantined
          AND o.order_status = 'completed' AND o.ordered_date <= {REVIEW_DATE}
        """
    )
    actual = warehouse.scalar("SELECT sum(order_revenue) FROM marts.customer_lifetime_profitability")

    assert expected > 0
    assert float(actual) == pytest.approx(float(expected), abs=CENT)


def test_lifetime_cost_to_serve_equals_the_costed_activities(warehouse) -> None:
    activities = warehouse.scalar("SELECT sum(cost) FROM intermediate.int_cost_to_serve_activities_costed")
    mart = warehouse.scalar("SELECT sum(cost_to_serve) FROM marts.customer_lifetime_profitability")

    assert activities > 0
    assert float(mart) == pytest.approx(float(activities), abs=CENT)


def test_support_cost_equals_handle_minutes_times_the_channel_rate(warehouse) -> None:
    """Recomputed from tickets and rates, independently of the activity model."""
    expected = warehouse.scalar(
        f"""
        SELECT sum(t.handle_minutes * r.rate)
        FROM intermediate.int_support_tickets_validated AS t
        JOIN intermediate.int_cost_rates_validated AS r
          ON r.activity = 'support_minute' AND r.support_channel = t.support_channel
         AND NOT r.is_quarantined
         AND t.opened_date >= r.valid_from
         AND (r.valid_to IS NULL OR t.opened_date < r.valid_to)
        WHERE NOT t.is_quarantined AND t.opened_date <= {REVIEW_DATE}
        """
    )
    actual = warehouse.scalar("SELECT sum(cost_to_serve_support) FROM marts.customer_lifetime_profitability")

    assert float(actual) == pytest.approx(float(expected), abs=CENT)


def test_account_manager_allocations_plus_unallocated_equal_monthly_costs(
    warehouse,
) -> None:
    monthly, allocated, unallocated, in_marts = warehouse.query(
        """
        SELECT (SELECT sum(monthly_cost) FROM intermediate.int_account_manager_months_costed),
               (SELECT sum(allocated_cost)
                FROM intermediate.int_account_manager_costs_allocated),
               (SELECT coalesce(sum(unallocated_cost), 0)
                FROM intermediate.int_account_manager_months_unallocated),
               (SELECT sum(cost_to_serve_account_management)
                FROM marts.customer_lifetime_profitability)
        """
    )[0]

    assert monthly > 0
    assert float(allocated) + float(unallocated) == pytest.approx(float(monthly), abs=CENT)
    assert float(in_marts) == pytest.approx(float(allocated), abs=CENT)


def test_acquisition_allocations_equal_spend_in_months_with_customers(warehouse) -> None:
    spend_with_customers, spend_without, shared, booked, in_marts = warehouse.query(
        f"""
        WITH spend AS (
            SELECT acquisition_channel, spend_month, spend_amount
            FROM intermediate.int_acquisition_spend_validated
            WHERE NOT is_quarantined AND spend_month <= {REVIEW_DATE}
        ),
        cohorts AS (
            SELECT acquisition_channel, date_trunc('month', signup_date) AS spend_month
            FROM intermediate.int_customers_validated
            WHERE NOT is_quarantined AND signup_date <= {REVIEW_DATE}
            GROUP BY ALL
        )
        SELECT
            (SELECT sum(spend_amount) FROM spend
             WHERE (acquisition_channel, spend_month) IN (SELECT * FROM cohorts)),
            (SELECT coalesce(sum(spend_amount), 0) FROM spend
             WHERE (acquisition_channel, spend_month) NOT IN (SELECT * FROM cohorts)),
            (SELECT sum(channel_spend_share)
             FROM intermediate.int_acquisition_costs_allocated),
            (SELECT sum(acquisition_cost) FROM intermediate.int_acquisition_costs_allocated),
            (SELECT sum(acquisition_cost) FROM marts.customer_lifetime_profitability)
        """
    )[0]
    reported_unallocated = warehouse.scalar(
        "SELECT sum(unallocated_spend) FROM intermediate.int_acquisition_spend_allocated"
    )

    assert spend_with_customers > 0
    assert float(shared) == pytest.approx(float(spend_with_customers), abs=CENT)
    assert float(reported_unallocated) == pytest.approx(float(spend_without), abs=CENT)
    assert float(in_marts) == pytest.approx(float(booked), abs=CENT)


def test_fiscal_years_add_up_to_lifetime_net_profit(warehouse) -> None:
    fiscal_years, lifetime = warehouse.query(
        """
        SELECT (SELECT sum(net_profit) FROM marts.customer_profitability
                WHERE period_type = 'fiscal_year'),
               (SELECT sum(net_profit) FROM marts.customer_lifetime_profitability)
        """
    )[0]

    assert float(fiscal_years) == pytest.approx(float(lifetime), abs=CENT)


# --------------------------------------------------------------------------------------
# Coverage: every customer, once
# --------------------------------------------------------------------------------------


def test_every_clean_customer_appears_once_in_lifetime_profitability(warehouse) -> None:
    """Every clean customer signed up by the review date (none later exists as of then)."""
    missing, duplicated, extra = warehouse.query(
        f"""
        WITH clean AS ({CLEAN_CUSTOMERS}),
        counted AS (
            SELECT customer_id, count(*) AS n
            FROM marts.customer_lifetime_profitability GROUP BY 1
        )
        SELECT
            (SELECT count(*) FROM clean LEFT JOIN counted USING (customer_id)
             WHERE counted.n IS NULL),
            (SELECT count(*) FROM counted WHERE n > 1),
            (SELECT count(*) FROM counted WHERE customer_id NOT IN
                (SELECT customer_id FROM clean))
        """
    )[0]

    assert (missing, duplicated, extra) == (0, 0, 0)
    assert warehouse.scalar(f"SELECT count(*) FROM ({CLEAN_CUSTOMERS})") > 0


def test_every_clean_customer_has_a_row_for_each_period_after_signup(warehouse) -> None:
    missing = warehouse.scalar(
        f"""
        WITH clean AS ({CLEAN_CUSTOMERS}),
        expected AS (
            SELECT clean.customer_id, p.period_type, p.period_label
            FROM clean
            JOIN intermediate.int_reporting_periods_defined AS p
              ON clean.signup_date <= p.period_end AND p.period_type <> 'lifetime'
        )
        SELECT count(*) FROM expected
        ANTI JOIN marts.customer_profitability USING (customer_id, period_type, period_label)
        """
    )

    assert missing == 0


def test_review_date_defaults_to_the_latest_clean_order_date(warehouse) -> None:
    review_date, latest_order = warehouse.query(
        "SELECT review_date, "
        "(SELECT max(ordered_date) FROM intermediate.int_orders_validated "
        " WHERE NOT is_quarantined) "
        "FROM intermediate.int_review_parameters"
    )[0]

    assert review_date == latest_order
