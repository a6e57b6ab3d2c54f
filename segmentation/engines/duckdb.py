"""DuckDB: read and write tables of the warehouse file (one writer process at a time)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from segmentation.config import duckdb_settings


class DuckDbTableEngine:
    name = "duckdb"

    def __init__(self, warehouse_path: Path) -> None:
        self.warehouse_path = Path(warehouse_path)
        self._connection = None

    def _con(self):
        import duckdb

        if self._connection is None:
            # The same resource limits as dbt and the other steps (README, Configuration).
            self._connection = duckdb.connect(str(self.warehouse_path), config=duckdb_settings())
        return self._connection

    def read_frame(self, schema: str, table: str) -> pd.DataFrame:
        return self._con().sql(f'select * from "{schema}"."{table}"').df()

    def write_frame(self, frame: pd.DataFrame, schema: str, table: str) -> None:
        con = self._con()
        con.execute(f'create schema if not exists "{schema}"')
        con.register("_frame_to_write", frame)
        try:
            # One statement: readers see the old table or the new one, never none.
            con.execute(f'create or replace table "{schema}"."{table}" as select * from _frame_to_write')
        finally:
            con.unregister("_frame_to_write")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
