"""Incremental refresh of the validated models and the facts equals a full refresh.

A copy of the session warehouse receives one new load (written as landing files and loaded
by the real loader), holding what a daily refresh meets: a late-arriving order with its
lines and a late ticket (dated two months back), re-sent versions of existing keys (a line,
a ticket, a product with a new unit cost, an order whose status changes), an order re-sent
with an invalid status and a customer re-sent with an invalid region (both quarantined
now, with their children). The incremental build must give the same rows as a full refresh
of the same models, and the facts must show each change.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import BuiltWarehouse, _copy_warehouse, _query

from segmentation.config import Settings
from segmentation.dbt_runner import run_dbt
from segmentation.ingest.load import load_landing

VALIDATED_AND_FACTS = {
    "int_customers_validated": "customer_id",
    "int_products_validated": "product_id",
    "int_orders_validated": "order_id",
    "int_order_lines_validated": "order_line_id",
    "int_support_tickets_validated": "ticket_id",
    "int_service_contracts_validated": "contract_id",
    "fct_order_lines": "order_line_id",
    "fct_support_tickets": "ticket_id",
}
SELECTION = [
    "--select",
    *(name for name in VALIDATED_AND_FACTS),
    "--indirect-selection",
    "cautious",
]


def _schema(model: str) -> str:
    return "marts" if model.startswith("fct_") else "intermediate"


def _state(settings: Settings) -> dict[str, list[tuple]]:
    # Every column but the load's own id and time (a full refresh keeps them too, but the
    # comparison is about what the models compute).
    return {
        model: _query(
            settings,
            f"select * exclude (_loaded_at{', _load_id' if not model.startswith('fct_') else ''})"
            f" from {_schema(model)}.{model} order by all",
        )
        for model in VALIDATED_AND_FACTS
    }


def _write_delta(landing: Path, warehouse: Path, delta: Path) -> dict[str, str]:
    """Write the delta's landing files; return the keys each case uses."""
    con = duckdb.connect()
    con.execute(f"attach '{warehouse}' as wh (read_only)")

    def original(entity: str) -> str:
        return f"read_csv('{landing / entity}/*.csv', header = true, all_varchar = true)"

    def one(sql: str) -> str:
        return con.execute(sql).fetchone()[0]

    latest = one("select max(ordered_date) from wh.marts.fct_order_lines")
    # Distinct clean orders with lines, each used by one case, picked deterministically.
    orders = [
        row[0]
        for row in con.execute(
            "select order_id from wh.marts.fct_order_lines where order_status = 'completed'"
            " group by order_id having count(*) >= 2 order by hash(order_id) limit 4"
        ).fetchall()
    ]
    late_source, status_order, bad_order, line_order = orders
    resent_line = one(f"select min(order_line_id) from wh.marts.fct_order_lines where order_id = '{line_order}'")
    product = one(
        f"select product_id from wh.marts.fct_order_lines where order_id not in ('{status_order}', '{bad_order}')"
        " group by product_id order by count(*), product_id limit 1"
    )
    bad_customer = one(
        "select customer_id from wh.marts.fct_support_tickets"
        f" where customer_id in (select customer_id from wh.marts.fct_order_lines)"
        f" and customer_id not in (select customer_id from wh.marts.fct_order_lines"
        f"   where order_id in ('{late_source}', '{status_order}', '{bad_order}', '{line_order}'))"
        " group by customer_id order by hash(customer_id) limit 1"
    )
    resent_ticket = one(
        f"select min(ticket_id) from wh.marts.fct_support_tickets where customer_id <> '{bad_customer}'"
        " and csat_score is not null"
    )
    late_date = f"cast(date '{latest}' - interval 60 days as date)"

    def write(entity: str, sql: str) -> None:
        (delta / entity).mkdir(parents=True, exist_ok=True)
        con.execute(f"copy ({sql}) to '{delta / entity / f'{entity}_delta.csv'}' (header, delimiter ',')")

    write(
        "orders",
        f"""
        select * replace ('OLATE' || order_id as order_id,
                          strftime({late_date} + interval 10 hours, '%Y-%m-%d %H:%M:%S') as ordered_at)
        from {original("orders")} where order_id = '{late_source}'
        union all
        select * replace ('returned' as status) from {original("orders")} where order_id = '{status_order}'
        union all
        select * replace ('lost' as status) from {original("orders")} where order_id = '{bad_order}'
        """,
    )
    write(
        "order_lines",
        f"""
        select * replace ('LLATE' || order_line_id as order_line_id, 'OLATE' || order_id as order_id)
        from {original("order_lines")} where order_id = '{late_source}'
        union all
        select * replace (cast(cast(quantity as integer) + 1 as varchar) as quantity)
        from {original("order_lines")} where order_line_id = '{resent_line}'
        """,
    )
    write(
        "products",
        f"select * replace (cast(cast(unit_cost as decimal(18, 2)) + 1 as varchar) as unit_cost)"
        f" from {original('products')} where product_id = '{product}'",
    )
    write(
        "customers",
        f"select * replace ('atlantis' as region) from {original('customers')} where customer_id = '{bad_customer}'",
    )
    write(
        "support_tickets",
        f"""
        select * replace ('TLATE' || ticket_id as ticket_id,
                          strftime({late_date} + interval 9 hours, '%Y-%m-%d %H:%M:%S') as opened_at,
                          strftime({late_date} + interval 11 hours, '%Y-%m-%d %H:%M:%S') as closed_at,
                          strftime({late_date} + interval 10 hours, '%Y-%m-%d %H:%M:%S') as first_response_at)
        from {original("support_tickets")} where ticket_id = '{resent_ticket}'
        union all
        select * replace (case when csat_score = '5' then '4' else '5' end as csat_score)
        from {original("support_tickets")} where ticket_id = '{resent_ticket}'
        """,
    )
    con.close()
    return {
        "late_order": f"OLATE{late_source}",
        "status_order": status_order,
        "bad_order": bad_order,
        "resent_line": resent_line,
        "product": product,
        "bad_customer": bad_customer,
        "resent_ticket": resent_ticket,
        "late_ticket": f"TLATE{resent_ticket}",
    }


@pytest.fixture(scope="module")
def refreshed(built_warehouse: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory):
    """The copy before the delta, after the incremental refresh, and after a full refresh."""
    settings = _copy_warehouse(built_warehouse.path, tmp_path_factory.mktemp("incremental"))
    before = _state(settings)
    keys = _write_delta(built_warehouse.landing_dir, settings.warehouse_path, settings.data_dir / "delta")
    load_landing(settings.data_dir / "delta", settings.raw_dir)
    run_dbt(["build", *SELECTION], settings)
    incremental = _state(settings)
    run_dbt(["build", *SELECTION, "--full-refresh"], settings)
    full = _state(settings)
    return settings, keys, before, incremental, full


def test_an_incremental_refresh_equals_a_full_refresh(refreshed) -> None:
    _, _, before, incremental, full = refreshed
    for model in VALIDATED_AND_FACTS:
        assert incremental[model] == full[model], model
    # the delta touched every model but the contracts (the quarantined customer may have some)
    unchanged = {model for model in VALIDATED_AND_FACTS if incremental[model] == before[model]}
    assert unchanged <= {"int_service_contracts_validated"}


def test_the_facts_show_every_change_of_the_delta(refreshed) -> None:
    settings, keys, before, _, _ = refreshed

    def lines(where: str) -> list[tuple]:
        return _query(
            settings, f"select order_line_id, order_status, quantity, cogs from marts.fct_order_lines where {where}"
        )

    # the late order arrived with its lines, two months back
    assert len(lines(f"order_id = '{keys['late_order']}'")) >= 2
    # the re-sent line has its new quantity (one row, the new version)
    quantity = _query(
        settings, f"select quantity from marts.fct_order_lines where order_line_id = '{keys['resent_line']}'"
    )
    old_quantity = _query(
        settings,
        f"select quantity from intermediate.int_order_lines_validated where order_line_id = '{keys['resent_line']}'"
        " and version_rank = 2",
    )
    assert quantity[0][0] == old_quantity[0][0] + 1
    # the order re-sent as returned: its lines carry the new status
    assert {row[1] for row in lines(f"order_id = '{keys['status_order']}'")} == {"returned"}
    # the order re-sent with an invalid status, and the quarantined customer: their lines are gone
    assert lines(f"order_id = '{keys['bad_order']}'") == []
    assert lines(f"customer_id = '{keys['bad_customer']}'") == []
    assert (
        _query(settings, f"select * from marts.fct_support_tickets where customer_id = '{keys['bad_customer']}'") == []
    )
    reasons = _query(
        settings,
        "select distinct quarantine_reason from intermediate.int_order_lines_validated"
        f" where order_id = '{keys['bad_order']}'",
    )
    assert reasons == [("order_quarantined",)]
    # the product's new unit cost reaches the cogs of its lines
    cogs = _query(
        settings,
        "select sum(cogs - quantity * unit_cost) from marts.fct_order_lines f"
        " join intermediate.int_products_validated p using (product_id)"
        f" where product_id = '{keys['product']}' and p.version_rank = 1",
    )
    assert cogs == [(0,)]
    # the late ticket arrived; the re-sent ticket has its new score
    assert _query(
        settings, f"select count(*) from marts.fct_support_tickets where ticket_id = '{keys['late_ticket']}'"
    ) == [(1,)]
    old = [row for row in before["fct_support_tickets"] if row[0] == keys["resent_ticket"]]
    new = _query(
        settings, f"select csat_score from marts.fct_support_tickets where ticket_id = '{keys['resent_ticket']}'"
    )
    assert new[0][0] != old[0][10]
