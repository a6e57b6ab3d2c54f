"""Annual segment reviews: one partition per fiscal year, backfillable from the UI or CLI.

A partition is a fiscal year; its review date is the year's last day. The job runs
`dbt build` of the review models with `review_type: annual` and that review date, with the
CLV step between dbt's two parts, so CLV is scored as of that review date (only
data dated on or before it counts, so re-running a past year reproduces it), then the
data-quality gate, and publishes when nothing blocks. The fiscal year starts in the month
SEGMENTATION_FISCAL_YEAR_START_MONTH (default 1, calendar years), like dbt's
fiscal_year_start_month var, which the job passes along.

Backfill every year from the CLI:
    dagster job backfill -m orchestration.definitions -j annual_review --noprompt
"""

import datetime as dt
import json
import os

import dagster as dg

from orchestration.defs.dagster_dbt_light import DbtCliResource
from orchestration.defs.dbt import dbt_project
from orchestration.defs.resources import WAREHOUSE_POOL, WAREHOUSE_WRITER_TAG, SegmentationResource
from segmentation.config import REVIEW_SELECT

FISCAL_YEAR_START_MONTH = int(os.environ.get("SEGMENTATION_FISCAL_YEAR_START_MONTH", "1"))
# The first fiscal year that can be reviewed (the sample history starts in 2023).
FIRST_FISCAL_YEAR_START = os.environ.get(
    "SEGMENTATION_FIRST_FISCAL_YEAR_START", f"2023-{FISCAL_YEAR_START_MONTH:02d}-01"
)
# The review models and what they need; override to add your own review marts.
REVIEW_SELECTION = os.environ.get("SEGMENTATION_REVIEW_SELECT", REVIEW_SELECT)

fiscal_years = dg.TimeWindowPartitionsDefinition(
    cron_schedule=f"0 0 1 {FISCAL_YEAR_START_MONTH} *",
    start=FIRST_FISCAL_YEAR_START,
    fmt="%Y-%m-%d",
    timezone="UTC",
)


def review_date_for(window_end: dt.datetime) -> dt.date:
    """A fiscal year's review date: the last day before the next fiscal year starts."""
    return window_end.date() - dt.timedelta(days=1)


def fiscal_year_label(review_date: dt.date) -> str:
    """FY<n> is the fiscal year that ends in year n (as in the finance marts)."""
    return f"FY{review_date.year}"


@dg.op(pool=WAREHOUSE_POOL, tags=WAREHOUSE_WRITER_TAG)
def build_annual_review(context: dg.OpExecutionContext, dbt: DbtCliResource, segmentation: SegmentationResource):
    review_date = review_date_for(context.partition_time_window.end)
    context.log.info(f"annual review {fiscal_year_label(review_date)}: review date {review_date}")
    os.environ.update(segmentation.settings().dbt_env())
    dbt_vars = {
        "review_date": review_date.isoformat(),
        "review_type": "annual",
        "fiscal_year_start_month": FISCAL_YEAR_START_MONTH,
    }
    from segmentation.clv.relations import CLV_INPUT_SELECT
    from segmentation.clv.step import ClvStepError, clv_settings, run_clv_step
    from segmentation.engines import table_engine

    # cautious: run only the tests of what this review builds, not those of upstream marts
    # that the selection reads but does not rebuild for this review date.
    vars_args = ["--indirect-selection", "cautious", "--vars", json.dumps(dbt_vars)]
    dbt.cli(["build", "--select", CLV_INPUT_SELECT, *vars_args], manifest=dbt_project.manifest_path).wait()
    engine = table_engine(segmentation.settings())
    try:  # the RFM summary just built is as of this review date: score CLV as of it too
        context.log.info(run_clv_step(engine, clv_settings(dbt_vars)).summary())
    except ClvStepError as exc:
        raise dg.Failure(description=str(exc)) from exc
    finally:
        engine.close()
    dbt.cli(["build", "--select", REVIEW_SELECTION, "--exclude", CLV_INPUT_SELECT, *vars_args],
            manifest=dbt_project.manifest_path).wait()
    return review_date.isoformat()


@dg.op(pool=WAREHOUSE_POOL)
def validate_and_publish_review(context: dg.OpExecutionContext, segmentation: SegmentationResource, review_date: str):
    from segmentation.pipeline import build_validate_publish

    result = build_validate_publish(segmentation.settings(), dbt_args=None, progress=context.log.info)
    context.log.info(result.summary())
    if not result.published:
        raise dg.Failure(description=f"annual review {review_date} blocked: " + "; ".join(result.reasons))


@dg.job(partitions_def=fiscal_years, tags=WAREHOUSE_WRITER_TAG,
        description="Frozen annual segment review of one fiscal year (backfill past years by partition).")
def annual_review():
    validate_and_publish_review(build_annual_review())


annual_review_schedule = dg.build_schedule_from_partitioned_job(
    annual_review, default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Once a year, when a fiscal year ends: the annual review of the year just ended.",
)
