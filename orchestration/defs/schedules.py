"""Jobs, schedules and the landing sensor.

- daily refresh: load new files, build, check, publish (review date: latest data);
- monthly rolling review: the same job with the review date set to the last day of the
  previous month (trailing 12 months ending there).
"""


import datetime as dt

import dagster as dg

from orchestration.defs.ingestion import landing_sensor_for
from orchestration.defs.resources import WAREHOUSE_WRITER_TAG
from orchestration.defs.reviews import ANNUAL_REVIEW_KEY

refresh_job = dg.define_asset_job(
    name="refresh_warehouse",
    # Everything but the annual review, which is partitioned by fiscal year (job annual_review).
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(ANNUAL_REVIEW_KEY),
    tags=WAREHOUSE_WRITER_TAG,
    description="Load new landing files, dbt build, data-quality checks, publish.",
)


def _last_day_of_previous_month(moment: dt.datetime) -> dt.date:
    return moment.date().replace(day=1) - dt.timedelta(days=1)


def _dbt_run_config(review_date: dt.date | None) -> dict:
    op_config = {"review_date": review_date.isoformat()} if review_date else {}
    return {"ops": {"warehouse_dbt_assets": {"config": op_config}}}


@dg.schedule(job=refresh_job, cron_schedule="0 5 * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.STOPPED)
def daily_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Every day at 05:00 UTC, with the review date left to the data (the latest day)."""
    return dg.RunRequest(run_config=_dbt_run_config(None), tags={"segmentation/review": "daily"})


@dg.schedule(job=refresh_job, cron_schedule="0 6 1 * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.STOPPED)
def monthly_rolling_review(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """On the 1st of each month: the rolling review ending on the last day of the previous month."""
    review_date = _last_day_of_previous_month(context.scheduled_execution_time)
    return dg.RunRequest(
        run_key=f"rolling-{review_date.isoformat()}",
        run_config=_dbt_run_config(review_date),
        tags={"segmentation/review": "rolling", "segmentation/review_date": review_date.isoformat()},
    )


landing_file_sensor = landing_sensor_for(refresh_job)
