"""Independent statements of one DuckDB database run side by side, one cursor each.

Publish (warehouse.py) and the Parquet export (parquet_export.py) both write many tables
or files. One statement that writes compressed data keeps little more than one core busy
(encoding and compressing is mostly serial per table), so running as many at once as
DuckDB has threads uses the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import duckdb

from segmentation.config import duckdb_settings

Item = TypeVar("Item")
Result = TypeVar("Result")


def duckdb_workers() -> int:
    """How many statements run at once: one per DuckDB thread (`duckdb_settings()`)."""
    try:
        return max(1, int(duckdb_settings()["threads"]))
    except ValueError:
        return 1


def map_on_cursors(
    con: duckdb.DuckDBPyConnection,
    items: Sequence[Item],
    work: Callable[[duckdb.DuckDBPyConnection, Item], Result],
    *,
    workers: int,
    name: str,
) -> list[Result]:
    """`work(cursor, item)` for every item, `workers` at a time, each on its own cursor of
    `con`; the results in the items' order."""

    def run(item: Item) -> Result:
        cursor = con.cursor()
        try:
            return work(cursor, item)
        finally:
            cursor.close()

    if workers <= 1 or len(items) <= 1:
        return [run(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        return list(pool.map(run, items))
