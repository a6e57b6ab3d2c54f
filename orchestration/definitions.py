"""Entry point: `dagster dev -m orchestration.definitions` (see `make dev`)."""

import dagster as dg

from orchestration.defs.dbt import dbt_resource, warehouse_dbt_assets
from orchestration.defs.ingestion import raw_tables
from orchestration.defs.resources import SegmentationResource
from orchestration.defs.schedules import daily_refresh, landing_file_sensor, monthly_rolling_review, refresh_job

defs = dg.Definitions(
    assets=[raw_tables, warehouse_dbt_assets],
    jobs=[refresh_job],
    schedules=[daily_refresh, monthly_rolling_review],
    sensors=[landing_file_sensor],
    resources={"segmentation": SegmentationResource(), "dbt": dbt_resource()},
    executor=dg.in_process_executor,  # one process: the DuckDB file has one writer at a time
)
