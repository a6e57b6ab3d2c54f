"""CLV on the generated sample, built as `segmentation build` does (dbt, the CLV step, dbt)."""

from __future__ import annotations

import json

import pytest
from conftest import _copy_warehouse

from segmentation.clv.step import ClvStepError
from segmentation.pipeline import dbt_build_with_clv

pytestmark = pytest.mark.slow


def test_the_build_produced_the_clv_tables_with_both_fits(built_warehouse) -> None:
    fits = built_warehouse.query(
        "select model_name, fit_period, converged, customers_used from marts.clv_model_fit order by 1, 2"
    )
    assert [(name, period, converged) for name, period, converged, _ in fits] == [
        ("bgnbd", "calibration", True), ("bgnbd", "review", True),
        ("gamma_gamma", "calibration", True), ("gamma_gamma", "review", True),
    ]
    assert all(used > 100 for *_, used in fits)
    assert built_warehouse.scalar("select count(*) from marts.clv_holdout_validation where level = 'bucket'") >= 5


def test_holdout_error_is_lower_than_the_naive_forecast(built_warehouse) -> None:
    model, naive = built_warehouse.query(
        "select mae_model, mae_naive from marts.clv_holdout_validation where level = 'total'"
    )[0]
    assert model < naive


def test_every_customer_has_one_clv_row_with_valid_values(built_warehouse) -> None:
    customers = built_warehouse.scalar("select count(*) from marts.customer_lifetime_profitability")
    rows, distinct, bad = built_warehouse.query(
        """
        select count(*), count(distinct customer_id),
               count(*) filter (where predicted_clv_36m < 0 or isnan(predicted_clv_36m)
                                or p_alive < 0 or p_alive > 1)
        from marts.customer_clv
        """
    )[0]
    assert rows == distinct == customers > 0
    assert bad == 0


def test_one_time_buyers_are_flagged_because_their_p_alive_is_one(built_warehouse) -> None:
    one_time, at_one = built_warehouse.query(
        "select count(*), count(*) filter (where p_alive = 1) from marts.customer_clv where is_one_time_buyer"
    )[0]
    assert one_time > 0
    assert at_one == one_time


def test_predicted_clv_ranks_the_generators_value_classes(built_warehouse) -> None:
    truth = built_warehouse.ground_truth_dir / "customers.csv"
    rows = built_warehouse.query(
        f"""
        select g.value_class, avg(c.predicted_clv_36m), avg(c.historical_clv),
               count(*) filter (where c.clv_note like 'non_positive_repeat_margin%')
        from marts.customer_clv as c
        join read_csv('{truth}', header = true) as g using (customer_id)
        group by g.value_class
        """
    )
    predicted = {name: clv for name, clv, _, _ in rows}
    order = ["platinum", "gold", "silver", "bronze"]
    values = [predicted[name] for name in order]
    assert values == sorted(values, reverse=True), dict(zip(order, values, strict=True))
    # Loss-making customers: predicted CLV is future gross margin at the population mean spend
    # (issue 18), so it does not rank them last; their history and the note tell them apart.
    historical = {name: value for name, _, value, _ in rows}
    flagged = {name: count for name, _, _, count in rows}
    assert historical["negative"] == min(historical.values()) < 0
    assert flagged["negative"] > 0 and sum(flagged.values()) == flagged["negative"]


def test_the_customers_left_out_of_gamma_gamma_get_the_population_mean(built_warehouse) -> None:
    population_mean = built_warehouse.scalar(
        "select p * gamma / (q - 1) from marts.clv_model_fit where model_name = 'gamma_gamma' and fit_period = 'review'"
    )
    excluded, at_mean, with_clv = built_warehouse.query(
        f"""
        select count(*), count(*) filter (where abs(expected_margin_per_purchase - {population_mean}) < 1e-6),
               count(*) filter (where predicted_clv_36m > 0)
        from marts.customer_clv where clv_note like 'non_positive_repeat_margin%'
        """
    )[0]
    assert excluded > 0 and at_mean == excluded and with_clv > 0


@pytest.fixture(scope="module")
def warehouse_copy(built_warehouse, tmp_path_factory):
    return _copy_warehouse(built_warehouse.path, tmp_path_factory.mktemp("clv_settings"))


def _query(settings, sql: str) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_other_clv_horizons_build(warehouse_copy) -> None:
    horizons = {"clv_horizons_months": [9, 12, 36]}
    dbt_build_with_clv(warehouse_copy, ["--vars", json.dumps(horizons)],
                       select=["customer_clv", "customer_clv_horizons"])

    rows = dict(_query(warehouse_copy, "select horizon_months, count(*) from marts.customer_clv_horizons group by 1"))
    customers = _query(warehouse_copy, "select count(*) from marts.customer_clv")[0][0]
    assert rows == {9: customers, 12: customers, 36: customers}
    # The wide mart keeps its contracted 12/36 columns, equal to the long mart's rows.
    assert _query(warehouse_copy, """
        select count(*) from marts.customer_clv as c
        join marts.customer_clv_horizons as h on c.customer_id = h.customer_id and h.horizon_months = 36
        where c.predicted_clv_36m <> h.predicted_clv
    """)[0][0] == 0


def test_a_holdout_longer_than_the_history_is_an_error_naming_the_var(warehouse_copy) -> None:
    with pytest.raises(ClvStepError, match="lower the dbt var clv_holdout_weeks"):
        dbt_build_with_clv(warehouse_copy, ["--vars", json.dumps({"clv_holdout_weeks": 200})],
                           select=["customer_clv"])
