"""Annual segment reviews: a fiscal-year partitioned asset, backfillable from the UI or CLI.

A partition is a fiscal year, keyed FY<n> for the year that ends in n (as in the finance
marts); its review date is the year's last day. The job runs
`dbt build` of the review models with `review_type: annual` and that review date, with the
CLV step between dbt's two parts, so CLV is scored as of that review date (only
data dated on or before it counts, so re-running a past year reproduces it), then the
data-quality gate, and publishes when nothing blocks. The fiscal year starts in the month
SEGMENTATION_FISCAL_YEAR_START_MONTH (default 1, calendar years), like dbt's
fiscal_year_start_month var, which the job passes along.

Each partition's run records the asset `reviews/annual_segment_review` with two blocking
checks: the review models' dbt tests and the quality gate (which also publishes).

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
from segmentation.engines import dbt_target

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


ANNUAL_REVIEW_KEY = dg.AssetKey(["reviews", "annual_segment_review"])
# dbt statuses of a failed node (run_results.json).
DBT_FAILED = {"error", "fail", "runtime error"}


def _dbt_review_build(context: dg.AssetExecutionContext, dbt: DbtCliResource, segmentation: SegmentationResource,
                      review_date: dt.date) -> list[dict]:
    """`dbt build` of the review models for one review date, with the CLV step between its two
    parts; returns run_results.json's results of both."""
    dbt_vars = {
        "review_date": review_date.isoformat(),
        "review_type": "annual",
        "fiscal_year_start_month": FISCAL_YEAR_START_MONTH,
    }
    from segmentation.clv.relations import CLV_INPUT_SELECT
    from segmentation.clv.step import ClvStepError, clv_settings, run_clv_step
    from segmentation.engines import release_warehouse, table_engine

    # cautious: run only the tests of what this review builds, not those of upstream marts
    # that the selection reads but does not rebuild for this review date.
    vars_args = ["--indirect-selection", "cautious", "--vars", json.dumps(dbt_vars)]
    release_warehouse()  # dbt runs as a subprocess (Spark-local: one JVM at a time opens the metastore)
    before = dbt.cli(["build", "--select", CLV_INPUT_SELECT, *vars_args],
                     manifest=dbt_project.manifest_path, raise_on_error=False)
    before.wait()
    results = before.get_artifact("run_results.json").get("results", [])
    if any(r["status"] in DBT_FAILED for r in results):
        return results  # the CLV step would read a summary that failed its build or tests
    engine = table_engine(segmentation.settings())
    try:  # the RFM summary just built is as of this review date: score CLV as of it too
        context.log.info(run_clv_step(engine, clv_settings(dbt_vars)).summary())
    except ClvStepError as exc:
        raise dg.Failure(description=str(exc)) from exc
    finally:
        engine.close()
    release_warehouse()  # the CLV step's session, on Spark
    after = dbt.cli(["build", "--select", REVIEW_SELECTION, "--exclude", CLV_INPUT_SELECT, *vars_args],
                    manifest=dbt_project.manifest_path, raise_on_error=False)
    after.wait()
    return results + after.get_artifact("run_results.json").get("results", [])


@dg.asset(
    key=ANNUAL_REVIEW_KEY,
    partitions_def=fiscal_years,
    group_name="reviews",
    kinds={"dbt", dbt_target()},
    pool=WAREHOUSE_POOL,
    deps=[dg.AssetKey(["marts", name]) for name in ("segment_review_history", "segment_reviews",
                                                    "segment_migrations", "segment_movers")],
    check_specs=[
        dg.AssetCheckSpec("dbt_tests", asset=ANNUAL_REVIEW_KEY, blocking=True,
                          description="Every dbt test of the review models passed for this fiscal year."),
        dg.AssetCheckSpec("quality_gate", asset=ANNUAL_REVIEW_KEY, blocking=True,
                          description="No critical Great Expectations check failed; the review was published."),
    ],
    description="The frozen segment review of one fiscal year (review id annual-FY<n>): the review "
    "models built as of the year's last day, checked by dbt tests and the quality gate, then published.",
)
def annual_segment_review(context: dg.AssetExecutionContext, dbt: DbtCliResource, segmentation: SegmentationResource):
    from segmentation.pipeline import build_validate_publish

    review_date = fiscal_year_end(context.partition_key)
    context.log.info(f"annual review {context.partition_key}: review date {review_date}")
    settings = segmentation.settings()
    os.environ.update(settings.dbt_env())
    results = _dbt_review_build(context, dbt, segmentation, review_date)
    failed = [f"{r['unique_id']}: {(r.get('message') or '').strip()}" for r in results if r["status"] in DBT_FAILED]
    yield dg.AssetCheckResult(
        check_name="dbt_tests", passed=not failed,
        metadata={"nodes": len(results), "failed": failed},
    )
    if failed:
        raise dg.Failure(description=f"annual review {context.partition_key}: dbt failed: " + "; ".join(failed))

    result = build_validate_publish(settings, dbt_args=None, progress=context.log.info)
    context.log.info(result.summary())
    yield dg.AssetCheckResult(
        check_name="quality_gate", passed=result.published,
        metadata={"reasons": result.reasons,
                  "gate_pages": dg.MetadataValue.path(str(result.quality.pages_index or ""))
                  if result.quality else ""},
    )
    if not result.published:
        raise dg.Failure(description=f"annual review {context.partition_key} blocked: " + "; ".join(result.reasons))
    yield dg.MaterializeResult(metadata={
        "review_id": f"annual-{context.partition_key}",
        "review_date": review_date.isoformat(),
        "published": dg.MetadataValue.path(str(result.published_path)),
    })


annual_review = dg.define_asset_job(
    "annual_review",
    selection=[ANNUAL_REVIEW_KEY],
    partitions_def=fiscal_years,
    tags=WAREHOUSE_WRITER_TAG,
    description="Frozen annual segment review of one fiscal year (backfill past years by partition).",
)


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
