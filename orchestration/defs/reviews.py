"""Annual segment reviews: one partition per fiscal year, backfillable from the UI or CLI.

A partition is a fiscal year, keyed FY<n> for the year that ends in n (as in the finance
marts); its review date is the year's last day. The job runs
`dbt build` of the review models with `review_type: annual` and that review date (only
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
FIRST_FISCAL_YEAR = os.environ.get("SEGMENTATION_FIRST_FISCAL_YEAR", "FY2023")
# The review models and what they need; override to add your own review marts.
REVIEW_SELECTION = os.environ.get("SEGMENTATION_REVIEW_SELECT", REVIEW_SELECT)


def fiscal_year_label(review_date: dt.date, start_month: int = FISCAL_YEAR_START_MONTH) -> str:
    """FY<n> is the fiscal year that ends in year n (as in the finance marts)."""
    ends_in_next_calendar_year = start_month != 1 and review_date.month >= start_month
    return f"FY{review_date.year + ends_in_next_calendar_year}"


def fiscal_year_end(label: str, start_month: int = FISCAL_YEAR_START_MONTH) -> dt.date:
    """The last day of fiscal year `FY<n>`: the day before fiscal year n + 1 starts."""
    if not (label.startswith("FY") and label[2:].isdigit() and len(label) == 6):
        raise ValueError(f"fiscal year {label!r} is not of the form FY<yyyy>, e.g. FY2024")
    year = int(label[2:])
    next_start = dt.date(year + (start_month == 1), start_month, 1)
    return next_start - dt.timedelta(days=1)


def completed_fiscal_years(now: dt.datetime, start_month: int = FISCAL_YEAR_START_MONTH) -> list[str]:
    """FY labels from FIRST_FISCAL_YEAR to the last fiscal year that ended before `now`."""
    last_ended = fiscal_year_label(now.date() - dt.timedelta(days=1), start_month)
    if fiscal_year_end(last_ended, start_month) >= now.date():
        last_ended = f"FY{int(last_ended[2:]) - 1}"
    first, last = int(FIRST_FISCAL_YEAR[2:]), int(last_ended[2:])
    return [f"FY{year}" for year in range(first, last + 1)]


# Partition keys are the finance marts' fiscal-year labels (FY2025 ends in 2025, whatever month
# the fiscal year starts in). A time-window partition cannot be labelled that way (its key is
# the window's start date), so the partitions are the fiscal years that had ended when the code
# location was loaded; a deployment reloads it at least once a year, and the schedule says so
# if it did not.
fiscal_years = dg.StaticPartitionsDefinition(completed_fiscal_years(dt.datetime.now(dt.UTC)))


@dg.op(pool=WAREHOUSE_POOL, tags=WAREHOUSE_WRITER_TAG)
def build_annual_review(context: dg.OpExecutionContext, dbt: DbtCliResource, segmentation: SegmentationResource):
    review_date = fiscal_year_end(context.partition_key)
    context.log.info(f"annual review {context.partition_key}: review date {review_date}")
    os.environ.update(segmentation.settings().dbt_env())
    dbt_vars = {
        "review_date": review_date.isoformat(),
        "review_type": "annual",
        "fiscal_year_start_month": FISCAL_YEAR_START_MONTH,
    }
    dbt.cli(
        # cautious: run only the tests of what this review builds, not those of upstream marts
        # that the selection reads but does not rebuild for this review date.
        ["build", "--select", REVIEW_SELECTION, "--indirect-selection", "cautious",
         "--vars", json.dumps(dbt_vars)],
        manifest=dbt_project.manifest_path,
    ).wait()
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


@dg.schedule(job=annual_review, cron_schedule=f"0 0 1 {FISCAL_YEAR_START_MONTH} *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.STOPPED)
def annual_review_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """Once a year, when a fiscal year ends: the annual review of the year just ended."""
    just_ended = fiscal_year_label(context.scheduled_execution_time.date() - dt.timedelta(days=1))
    if just_ended not in fiscal_years.get_partition_keys():
        return dg.SkipReason(
            f"{just_ended} ended after this code location was loaded: reload it (Deployment > Reload), "
            f"then launch partition {just_ended} of annual_review"
        )
    return dg.RunRequest(run_key=just_ended, partition_key=just_ended)
