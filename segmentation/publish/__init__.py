"""Publish: the atomic copy BI tools read (warehouse.py) and its Parquet export (parquet_export.py)."""
