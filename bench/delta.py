"""A daily delta for the incremental-refresh benchmark: about 1% new orders, order lines and tickets.

Copies of 1% of the landing orders (with all their lines) and 1% of the landing tickets,
given new ids and new dates, written as new landing files next to the old ones
(`<entity>/<entity>_delta-<tag>.csv`), so `segmentation load` picks up only them:

- half are new: dated 1 to 7 days after the latest order date of the landing data;
- half arrive late: dated 1 to 28 days before it (inside the rolling window), the case
  an incremental model must not miss.

Which rows are copied and where they land is a hash of their id: the same landing data gives
the same delta. Customers and products are existing ones, so every new row is clean.

    python bench/delta.py --landing DIR [--share 0.01] [--tag 0001]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

# Days each copied row moves to: 1..7 after the latest date (new) or 1..28 before (late).
SHIFT = """
    case when hash({key} || 'side') % 2 = 0
        then latest + cast(1 + hash({key} || 'day') % 7 as integer)
        else latest - cast(1 + hash({key} || 'day') % 28 as integer)
    end
"""


FORMAT = "'%Y-%m-%d %H:%M:%S'"  # the timestamps of the landing files


def write_delta(landing: Path, share: float = 0.01, tag: str = "0001") -> dict[str, int]:
    """Write the delta files under `landing`; return the rows written per entity."""
    every = max(1, round(1 / share))
    con = duckdb.connect()

    def csvs(entity: str) -> str:
        return f"read_csv('{landing / entity}/*.csv', header = true, all_varchar = true, union_by_name = true)"

    con.execute(f"create temp table orders as select * from {csvs('orders')}")
    con.execute(f"create temp table order_lines as select * from {csvs('order_lines')}")
    con.execute(f"create temp table tickets as select * from {csvs('support_tickets')}")
    # The latest order date; orders dated in the future (a defect the sample injects) do not count.
    con.execute("""
        create temp table latest as
        select cast(max(cast(ordered_at as timestamp)) as date) as latest
        from orders
        where cast(ordered_at as timestamp) <= current_timestamp
    """)
    con.execute(f"""
        create temp table new_orders as
        select
            orders.*,
            'D{tag}' || orders.order_id as new_order_id,
            cast(
                ({SHIFT.format(key="orders.order_id")})
                + cast(cast(orders.ordered_at as timestamp) as time) as timestamp
            ) as new_ordered_at
        from orders, latest
        where hash(orders.order_id) % {every} = 0
    """)
    written = {}
    targets = {
        "orders": f"""
            select
                new_order_id as order_id,
                customer_id,
                strftime(new_ordered_at, {FORMAT}) as ordered_at,
                * exclude (order_id, customer_id, ordered_at, new_order_id, new_ordered_at)
            from new_orders
        """,
        "order_lines": f"""
            select lines.* replace (
                'D{tag}' || lines.order_line_id as order_line_id, new_orders.new_order_id as order_id
            )
            from order_lines as lines
            inner join new_orders on lines.order_id = new_orders.order_id
        """,
        "support_tickets": f"""
            with shifted as (
                select
                    tickets.*,
                    ({SHIFT.format(key="tickets.ticket_id")})
                        - cast(cast(tickets.opened_at as timestamp) as date) as moved_days
                from tickets, latest
                where hash(tickets.ticket_id) % {every} = 0
            )
            select * exclude (moved_days) replace (
                'D{tag}' || ticket_id as ticket_id,
                strftime(cast(opened_at as timestamp) + to_days(cast(moved_days as integer)), {FORMAT}) as opened_at,
                strftime(cast(closed_at as timestamp) + to_days(cast(moved_days as integer)), {FORMAT}) as closed_at,
                strftime(
                    cast(first_response_at as timestamp) + to_days(cast(moved_days as integer)), {FORMAT}
                ) as first_response_at
            )
            from shifted
        """,
    }
    for entity, query in targets.items():
        path = landing / entity / f"{entity}_delta-{tag}.csv"
        con.execute(f"copy ({query}) to '{path}' (header, delimiter ',')")
        written[entity] = con.execute(f"select count(*) from read_csv('{path}', header = true)").fetchone()[0]
    con.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--landing", type=Path, required=True, help="the landing folder to add the delta files to")
    parser.add_argument("--share", type=float, default=0.01, help="share of orders and tickets to add (default: 0.01)")
    parser.add_argument("--tag", default="0001", help="distinguishes the files and ids of successive deltas")
    args = parser.parse_args()
    for entity, rows in write_delta(args.landing, args.share, args.tag).items():
        print(f"{entity}: {rows:,} new rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
