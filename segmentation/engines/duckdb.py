"""DuckDB: read and write tables of the warehouse file (one writer process at a time), and the
steps after dbt (gate, publish to a new file renamed into place, export, the published marts)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from segmentation.config import Settings, duckdb_settings


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


class PublishedFile:
    """A published DuckDB file, as the report reads it: every table is there, read-only."""

    def __init__(self, path: Path) -> None:
        self.published_location = Path(path)

    def open_published(self, tables):
        import duckdb

        from segmentation.engines import NothingPublished

        if not self.published_location.is_file():
            raise NothingPublished(f"{self.published_location}: no published warehouse; run `segmentation run` first")
        return duckdb.connect(str(self.published_location), read_only=True)


class DuckDbWarehouse:
    """The steps after dbt on DuckDB: the gate reads the working file, publish renames a new
    published file into place, the export and the report read the published file."""

    name = "duckdb"

    def __init__(self, settings: Settings, published_path: Path | None = None) -> None:
        self.settings = settings
        self.published_location: Path = Path(published_path or settings.published_path)

    @property
    def working_location(self) -> str:
        return str(self.settings.warehouse_path)

    def validate(self, suites=None, *, chunk_rows=None, build_docs=True, gx_project_dir=None, progress=None):
        from segmentation.quality.gate import validate_warehouse

        options = {} if chunk_rows is None else {"chunk_rows": chunk_rows}
        return validate_warehouse(
            self.settings.warehouse_path, build_docs=build_docs, suites=suites,
            gx_project_dir=gx_project_dir or self.settings.project_dir / "expectations",
            dbt_project_dir=self.settings.project_dir, progress=progress, **options,
        )

    def publish(self, schemas, *, dbt_invocation_id=None, checks=None):
        from segmentation.publish.warehouse import publish

        return publish(self.settings.warehouse_path, self.published_location, schemas,
                       dbt_invocation_id=dbt_invocation_id, checks=checks)

    def export_parquet(self, export_root: Path | None = None):
        from segmentation.publish.parquet_export import export_parquet

        return export_parquet(self.published_location, export_root or self.settings.parquet_dir)

    def open_published(self, tables):
        return PublishedFile(self.published_location).open_published(tables)

    def row_accounting(self) -> str:
        from segmentation.summary import warehouse_summary

        return warehouse_summary(self.settings.warehouse_path)

    def has_review_history(self) -> bool:
        import duckdb

        if not self.settings.warehouse_path.is_file():
            return False
        con = duckdb.connect(str(self.settings.warehouse_path), read_only=True)
        try:
            return con.execute("select count(*) from marts.segment_reviews").fetchone()[0] > 0
        except duckdb.CatalogException:
            return False
        finally:
            con.close()
