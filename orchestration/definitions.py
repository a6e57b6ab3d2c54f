"""Entry point: `dg dev` (see `make dev` and `[tool.dg]` in pyproject.toml).

raw_tables (loader) -> dbt models up to the RFM summary -> clv_scores (the CLV step) -> the
other dbt models (dbt tests as checks) -> GX suites (blocking checks)
-> published_warehouse (atomic swap of the file BI tools read) -> bi_parquet_export and
review_report (both read the published file only). The annual_review job,
partitioned by fiscal year, freezes one year's segment review (orchestration/defs/reviews.py).
Freshness policies and the failed-run alert: orchestration/defs/monitoring.py.
"""

import dagster as dg

from orchestration.defs.bi import bi_parquet_export, review_report
from orchestration.defs.clv import build_clv_scores, rfm_summary_key
from orchestration.defs.dbt import dbt_resource, warehouse_dbt_assets
from orchestration.defs.ingestion import raw_tables
from orchestration.defs.monitoring import run_failure_alert
from orchestration.defs.publish import build_published_warehouse
from orchestration.defs.quality import build_quality_checks
from orchestration.defs.resources import SegmentationResource
from orchestration.defs.reviews import annual_review, annual_review_schedule, annual_segment_review
from orchestration.defs.schedules import daily_refresh, landing_file_sensor, monthly_rolling_review, refresh_job

dbt_keys = set(warehouse_dbt_assets.keys)
clv_scores = build_clv_scores(rfm_summary_key(dbt_keys))
# dbt's second step: the dbt assets downstream of the CLV step; the first step is the rest.
after_clv_keys = set(dg.AssetSelection.assets(*clv_scores.keys).downstream().resolve(
    [clv_scores, warehouse_dbt_assets])) & dbt_keys
published_warehouse = build_published_warehouse(
    sorted((key for key in dbt_keys if key.path[0] in {"marts", "audit"}), key=lambda k: k.to_user_string())
)

defs = dg.Definitions(
    assets=[raw_tables, clv_scores, warehouse_dbt_assets, published_warehouse,
            bi_parquet_export, review_report, annual_segment_review],
    asset_checks=[
        build_quality_checks(dbt_keys - after_clv_keys, "great_expectations_suites_before_clv"),
        build_quality_checks(after_clv_keys),
    ],
    jobs=[refresh_job, annual_review],
    schedules=[daily_refresh, monthly_rolling_review, annual_review_schedule],
    sensors=[landing_file_sensor, run_failure_alert],
    resources={"segmentation": SegmentationResource(), "dbt": dbt_resource()},
    executor=dg.in_process_executor,  # one process: the DuckDB file has one writer at a time
)
