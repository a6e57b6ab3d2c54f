"""Build, validate, publish: the only way a warehouse reaches BI tools.

1. `dbt build` on the working warehouse (settings.warehouse_path). A failed model or an
   error-severity dbt test blocks.
2. The data-quality gate (`segmentation.quality.validate_warehouse`). A failed critical
   check blocks; warnings are reported.
3. Publish (`segmentation.publish.publish`) the BI-facing schemas to the published file,
   atomically, then export the BI marts from it as Parquet partitioned by review
   (`segmentation.publish.parquet_export.export_parquet`, next to the published file).

When blocked, the published file is not touched and the working file is kept for
inspection; the result lists the reasons.

On Spark (SEGMENTATION_DBT_TARGET=spark) steps 2 and 3 run in dbt's Spark session
(`segmentation.engines.spark`): the same suites through GX's Spark execution engine, then a new
`published_v<time>` database and the views of database `published` switched to it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from segmentation.config import REVIEW_SELECT, Settings
from segmentation.publish.parquet_export import ExportResult, export_parquet
from segmentation.publish.warehouse import BI_SCHEMAS, PublishResult, publish
from segmentation.quality.gate import DEFAULT_CHUNK_ROWS, QualityReport, validate_warehouse
from segmentation.quality.suites import SuiteSpec

if TYPE_CHECKING:
    from segmentation.engines.spark import SparkPublishResult


@dataclass
class PipelineResult:
    status: Literal["published", "blocked"]
    working_path: Path
    published_path: Path | str  # str: a Spark database
    reasons: list[str] = field(default_factory=list)
    quality: QualityReport | None = None
    publish: PublishResult | SparkPublishResult | None = None
    export: ExportResult | None = None
    dbt_invocation_id: str | None = None
    seconds: float = 0.0

    @property
    def published(self) -> bool:
        return self.status == "published"

    @property
    def docs_index(self) -> Path | None:
        return self.quality.docs_index if self.quality else None

    def summary(self) -> str:
        lines = []
        if self.quality is not None:
            lines += [self.quality.summary(), ""]
        if self.published and self.publish is not None:
            lines.append(self.publish.summary())
            if self.export is not None:
                lines.append(self.export.summary())
        else:
            lines.append(f"BLOCKED: {self.published_path} was not changed")
            if self.quality is None:
                lines += [f"  - {reason}" for reason in self.reasons]
            else:
                lines.append(
                    f"  - {len(self.reasons)} critical check(s) failed (listed above)"
                )
            lines.append(f"working warehouse kept for inspection: {self.working_path}")
        lines.append(f"pipeline done in {self.seconds:.0f}s")
        return "\n".join(lines)


def build_validate_publish(
    settings: Settings,
    *,
    dbt_args: Sequence[str] | None = ("build",),
    publish_to: Path | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    build_docs: bool = True,
    schemas: Sequence[str] = BI_SCHEMAS,
    gx_project_dir: Path | None = None,
    suites: Sequence[SuiteSpec] | None = None,
    progress: Callable[[str], None] | None = None,
) -> PipelineResult:
    """Run dbt, the quality gate and publish; never publish a build that failed either.

    `dbt_args=None` (or empty) skips dbt and validates the warehouse as it is.
    `gx_project_dir` defaults to <project>/expectations; `suites` to every suite of
    `segmentation.quality.suites.default_suites()`.
    """
    from segmentation.dbt_runner import DbtFailed, run_dbt

    started = time.monotonic()
    say = progress or (lambda message: None)
    target = Path(publish_to) if publish_to is not None else settings.published_path
    result = PipelineResult(
        status="blocked", working_path=settings.warehouse_path, published_path=target
    )

    if dbt_args:
        try:
            run_dbt(list(dbt_args), settings, progress=say)
        except DbtFailed as exc:
            result.reasons.append(str(exc))
            result.seconds = time.monotonic() - started
            return result
        result.dbt_invocation_id = _dbt_invocation_id()

    if on_spark():
        # On Spark the gate and publish run in dbt's Spark session.
        return _validate_publish_on_spark(settings, result, suites=suites, schemas=schemas, progress=say,
                                          started=started)

    say("validating the warehouse (Great Expectations)")
    report = validate_warehouse(
        settings.warehouse_path,
        chunk_rows=chunk_rows,
        build_docs=build_docs,
        suites=suites,
        gx_project_dir=gx_project_dir or settings.project_dir / "expectations",
        dbt_project_dir=settings.project_dir,
        progress=say,
    )
    result.quality = report
    if not report.passed:
        result.reasons += [
            f"critical check failed: {check.describe()}" for check in report.blocking_failures
        ]
        result.seconds = time.monotonic() - started
        return result

    say(f"publishing {', '.join(schemas)} to {target}")
    result.publish = publish(
        settings.warehouse_path,
        target,
        schemas,
        dbt_invocation_id=result.dbt_invocation_id,
        checks={
            "total": len(report.checks),
            "failed_warnings": len(report.warnings),
            "failed_blocking": 0,
        },
    )
    result.status = "published"
    if target == settings.published_path:
        say(f"exporting the BI marts as Parquet to {settings.parquet_dir}")
        result.export = export_parquet(target, settings.parquet_dir)
    result.seconds = time.monotonic() - started
    return result


def _validate_publish_on_spark(
    settings: Settings,
    result: PipelineResult,
    *,
    suites: Sequence[SuiteSpec] | None,
    schemas: Sequence[str],
    progress: Callable[[str], None],
    started: float,
) -> PipelineResult:
    """The gate (GX's Spark execution engine) and publish (a new published_v<time> database, the
    views of database `published` switched to it) on the Spark warehouse dbt just built. The
    Parquet export is DuckDB's: on Spark the published tables are Parquet files already."""
    from segmentation.engines.spark import PUBLISHED_DATABASE, spark_session, validate_and_publish_spark

    progress("validating the Spark warehouse (Great Expectations, Spark execution engine)")
    result.published_path = f"Spark database {PUBLISHED_DATABASE}"
    report, published = validate_and_publish_spark(
        spark_session(settings.project_dir), dbt_project_dir=settings.project_dir, suites=suites,
        pages_dir=settings.gx_docs_index.parents[2] / "gate_pages_spark",
        dbt_invocation_id=result.dbt_invocation_id, schemas=schemas, progress=progress,
    )
    result.quality = report
    if published is None:
        result.reasons += [f"critical check failed: {check.describe()}" for check in report.blocking_failures]
    else:
        result.publish, result.status = published, "published"
    result.seconds = time.monotonic() - started
    return result


def _dbt_invocation_id() -> str | None:
    """The id of the dbt invocation that just ran in this process (dbt keeps it global)."""
    try:
        from dbt_common.invocation import get_invocation_id
    except ImportError:
        return None
    return get_invocation_id()


def on_spark() -> bool:
    """The engine seam of the steps outside dbt: dbt's target (SEGMENTATION_DBT_TARGET) is Spark."""
    return os.environ.get("SEGMENTATION_DBT_TARGET", "duckdb") == "spark"


def row_accounting(settings: Settings) -> str:
    """The row accounting `segmentation run` prints (segmentation.summary), from the target's warehouse."""
    if on_spark():
        from segmentation.engines.spark import spark_session, warehouse_summary_spark

        return warehouse_summary_spark(spark_session(settings.project_dir))
    from segmentation.summary import warehouse_summary

    return warehouse_summary(settings.warehouse_path)


def has_review_history(warehouse_path: Path) -> bool:
    """True when the working warehouse already holds at least one segment review."""
    import duckdb

    if on_spark():
        from segmentation.config import PROJECT_DIR
        from segmentation.engines.spark import has_review_history_spark, spark_session

        return has_review_history_spark(spark_session(PROJECT_DIR))

    if not Path(warehouse_path).is_file():
        return False
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        return con.execute("select count(*) from marts.segment_reviews").fetchone()[0] > 0
    except duckdb.CatalogException:
        return False
    finally:
        con.close()


def build_review(
    settings: Settings, review_vars: dict[str, object], progress: Callable[[str], None] | None = None
) -> None:
    """Build one segment review (REVIEW_SELECT) with these dbt vars, e.g. review_type/review_date."""
    import json

    from segmentation.dbt_runner import run_dbt

    run_dbt(
        ["build", "--select", *REVIEW_SELECT.split(), "--indirect-selection", "cautious",
         "--vars", json.dumps(review_vars)],
        settings,
        progress=progress,
    )


def build_previous_review(
    settings: Settings,
    months_before_latest: int,
    progress: Callable[[str], None] | None = None,
    extra_vars: dict[str, object] | None = None,
) -> None:
    """Build the rolling review `months_before_latest` months before the latest order date.

    Only the review models and what they need are built (as the annual review job does);
    the history keeps that review, so the next full build has two reviews to compare
    (segment_migrations, segment_movers, the report's migration heatmap).
    """
    build_review(settings, {**(extra_vars or {}), "review_months_before_latest": months_before_latest}, progress)


def generate_dbt_docs(settings: Settings, progress: Callable[[str], None] | None = None) -> Path:
    """`dbt docs generate` against the working warehouse; returns its index.html."""
    from segmentation.dbt_runner import run_dbt

    run_dbt(["docs", "generate"], settings, progress=progress)
    return settings.dbt_docs_index
