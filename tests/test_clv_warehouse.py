"""CLV on the generated sample, built by `dbt build` alone (Python models call segmentation.clv)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_dbt_build_produced_the_three_clv_tables(built_warehouse) -> None:
    fits = built_warehouse.query(
        "select model_name, converged, customers_used from marts.clv_model_fit order by model_name"
    )
    assert [(name, converged) for name, converged, _ in fits] == [("bgnbd", True), ("gamma_gamma", True)]
    assert all(used > 100 for _, _, used in fits)
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
    by_class = dict(
        built_warehouse.query(
            f"""
            select g.value_class, avg(c.predicted_clv_36m)
            from marts.customer_clv as c
            join read_csv('{truth}', header = true) as g using (customer_id)
            group by g.value_class
            """
        )
    )
    order = ["platinum", "gold", "silver", "bronze", "negative"]
    values = [by_class[name] for name in order]
    assert values == sorted(values, reverse=True), dict(zip(order, values, strict=True))
