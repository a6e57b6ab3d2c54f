"""Build, validate, publish: the only way a warehouse reaches BI tools.

1. `dbt build` on the working warehouse (settings.warehouse_path), in two parts with the
   CLV step between them (`dbt_build_with_clv`). A failed model, an error-severity dbt test
   or a CLV model that cannot be fitted blocks.
2. The data-quality gate (`segmentation.quality.validate_warehouse`). A failed critical
   check blocks; warnings are reported.
3. Publish (`segmentation.publish.publish`) the BI-facing schemas to the published file,
   atomically, then export the BI marts from it as Parquet partitioned by review
   (`segmentation.publish.parquet_export.export_parquet`, next to the published file).

When blocked, the published file is not touched and the working file is kept for
inspection; the result lists the reasons.

Steps 2 and 3 run on the engine of the dbt target (`segmentation.engines.warehouse_engine`). On
Spark (SEGMENTATION_DBT_TARGET=spark) they run in dbt's Spark session
(`segmentation.engines.spark`): the same suites through GX's Spark execution engine, a new
`published_v<time>` database and the views of database `published` switched to it, and the
export written by Spark.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from segmentation.clv.step import CLV_INPUT_SELECT, ClvStepError, ClvStepResult
from segmentation.config import REVIEW_SELECT, Settings
from segmentation.dbt_runner import DbtNodeResult
from segmentation.engines import warehouse_engine
from segmentation.publish.parquet_export import ExportResult
from segmentation.publish.warehouse import BI_SCHEMAS, PublishResult, check_settled
from segmentation.quality.gate import DEFAULT_CHUNK_ROWS, QualityReport
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
    dbt_results: list[DbtNodeResult] = field(default_factory=list)
    clv: ClvStepResult | None = None
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

    if not dbt_args:
        check_settled(settings.warehouse_path)  # before the gate: a half-written warehouse is never published
    if dbt_args:
        try:
            if dbt_args[0] == "build" and not _selects(dbt_args):
                built = dbt_build_with_clv(settings, dbt_args[1:], progress=say)
                result.dbt_results, result.clv = built.dbt_results, built.clv
            else:
                result.dbt_results = run_dbt(list(dbt_args), settings, progress=say)
        except (DbtFailed, ClvStepError) as exc:
            result.dbt_results = exc.results
            result.reasons.append(str(exc))
            result.seconds = time.monotonic() - started
            return result
        result.dbt_invocation_id = _dbt_invocation_id()

    # The gate and publish of the dbt target's engine (DuckDB: the working and published files;
    # Spark: dbt's session, a new published_v<time> database and the views of `published`).
    engine = warehouse_engine(settings, published_path=target)
    result.published_path = engine.published_location
    say(f"validating the warehouse on {engine.name} (Great Expectations)")
    report = engine.validate(
        suites, chunk_rows=chunk_rows, build_docs=build_docs,
        gx_project_dir=gx_project_dir or settings.project_dir / "expectations", progress=say,
    )
    result.quality = report
    if not report.passed:
        result.reasons += [
            f"critical check failed: {check.describe()}" for check in report.blocking_failures
        ]
        result.seconds = time.monotonic() - started
        return result

    say(f"publishing {', '.join(schemas)} to {engine.published_location}")
    result.publish = engine.publish(
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
        result.export = engine.export_parquet(settings.parquet_dir)
    result.seconds = time.monotonic() - started
    return result


@dataclass
class ClvBuildResult:
    """What dbt_build_with_clv did: both dbt builds' node results and the CLV step's tables."""

    dbt_results: list[DbtNodeResult]
    clv: ClvStepResult


def dbt_build_with_clv(
    settings: Settings,
    extra_args: Sequence[str] = (),
    *,
    select: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
) -> ClvBuildResult:
    """`dbt build [--select ...] <extra_args>` as dbt -> CLV step -> dbt.

    1. dbt builds the CLV step's input, int_customer_rfm_summarized, and what it needs, with
       the tests of those models only (cautious: a test runs once all its parents are built);
    2. the CLV step (segmentation.clv.step) reads it through the engine of the dbt target,
       fits and scores, and writes the `clv` tables;
    3. dbt builds the rest of the selection (everything, by default) and its tests, reading
       the `clv` tables as a source.
    The dbt vars in `extra_args` (`--vars`) reach all three. Raises DbtFailed or ClvStepError,
    whose `results` hold the node results of every dbt build that ran.
    """
    from segmentation.clv.step import clv_settings, run_clv_step
    from segmentation.dbt_runner import DbtFailed, run_dbt
    from segmentation.dbt_vars import parse_vars
    from segmentation.engines import dbt_target, table_engine

    say = progress or (lambda message: None)
    extra = list(extra_args)
    dbt_vars = parse_vars(extra[extra.index("--vars") + 1]) if "--vars" in extra else {}
    before = run_dbt(["build", "--select", CLV_INPUT_SELECT, "--indirect-selection", "cautious", *extra],
                     settings, progress=say)
    target = dbt_target()
    say(f"scoring CLV (BG/NBD + Gamma-Gamma) on {target}")
    engine = table_engine(settings, target)
    try:
        clv = run_clv_step(engine, clv_settings(dbt_vars))
    except ClvStepError as exc:
        exc.results = before
        raise
    finally:
        engine.close()
    say(clv.summary())
    try:
        after = run_dbt(["build", *(["--select", *select] if select else []), "--exclude", CLV_INPUT_SELECT,
                         "--indirect-selection", "cautious", *extra], settings, progress=say)
    except DbtFailed as exc:
        exc.results = before + exc.results
        raise
    return ClvBuildResult(dbt_results=before + after, clv=clv)


def _selects(dbt_args: Sequence[str]) -> bool:
    return any(arg in {"--select", "-s", "--exclude", "--selector"} for arg in dbt_args)


def _dbt_invocation_id() -> str | None:
    """The id of the dbt invocation that just ran in this process (dbt keeps it global)."""
    try:
        from dbt_common.invocation import get_invocation_id
    except ImportError:
        return None
    return get_invocation_id()


def row_accounting(settings: Settings) -> str:
    """The row accounting `segmentation run` prints (segmentation.summary), from the target's warehouse."""
    return warehouse_engine(settings).row_accounting()


def has_review_history(settings: Settings) -> bool:
    """True when the target's working warehouse already holds at least one segment review."""
    return warehouse_engine(settings).has_review_history()


def build_review(
    settings: Settings, review_vars: dict[str, object], progress: Callable[[str], None] | None = None
) -> list[DbtNodeResult]:
    """Build one segment review (REVIEW_SELECT) with these dbt vars, e.g. review_type/review_date,
    and the CLV step with them (the review's CLV is scored as of its review date)."""
    import json

    return dbt_build_with_clv(settings, ["--vars", json.dumps(review_vars)], select=REVIEW_SELECT.split(),
                              progress=progress).dbt_results


def build_previous_review(
    settings: Settings,
    months_before_latest: int,
    progress: Callable[[str], None] | None = None,
    extra_vars: dict[str, object] | None = None,
) -> list[DbtNodeResult]:
    """Build the rolling review `months_before_latest` months before the latest order date.

    Only the review models and what they need are built (as the annual review job does);
    the history keeps that review, so the next full build has two reviews to compare
    (segment_migrations, segment_movers, the report's migration heatmap).
    """
    return build_review(
        settings, {**(extra_vars or {}), "review_months_before_latest": months_before_latest}, progress
    )


def generate_dbt_docs(settings: Settings, progress: Callable[[str], None] | None = None) -> Path:
    """`dbt docs generate --static` against the working warehouse; returns its static page
    (one HTML file with the manifest and catalog inlined, which opens from a file; the
    index.html next to it needs `dbt docs serve`)."""
    from segmentation.dbt_runner import run_dbt

    run_dbt(["docs", "generate", "--static"], settings, progress=progress)
    return settings.dbt_docs_index
