"""Great Expectations suites as blocking Dagster asset checks.

One check per suite, attached to the dbt asset whose table the suite validates, run on the
engine of the dbt target (segmentation.engines.warehouse_engine: DuckDB, or GX's Spark execution
engine on Spark). The suites run in two ops (each one read-only pass over the warehouse), one per step of the dbt op:
Dagster runs dbt in two steps around the CLV step (orchestration/defs/clv.py), first every
model that does not depend on it, then the models that do. One op for both would be a cycle:
the second dbt step waits for the blocking checks on the first's assets. A suite with a failed critical
expectation yields an ERROR result, which stops downstream assets (the publish step) in the
same run. Warning-level failures yield WARN results and block nothing.
(dagster-ge still requires GX < 1.0, so the checks call GX 1.x through segmentation.quality.)
"""

import dagster as dg

from orchestration.defs.resources import WAREHOUSE_POOL, SegmentationResource
from segmentation.quality.suites import SuiteSpec, default_suites


def asset_key_for(relation: str) -> dg.AssetKey:
    """dbt models are keyed <schema>/<model> by dagster-dbt here; suites name schema.table."""
    return dg.AssetKey(relation.split("."))


SUITES: list[SuiteSpec] = default_suites()


def _specs(asset_keys: set[dg.AssetKey]) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            name=f"gx_{suite.name}",
            asset=asset_key_for(suite.relation),
            blocking=True,
            description=suite.description or f"Great Expectations suite {suite.name}",
        )
        for suite in SUITES
        if asset_key_for(suite.relation) in asset_keys
    ]


def _page_links(report, suite_name: str) -> dict[str, dg.MetadataValue]:
    """Links shown on the check in the UI: the suite's gate page (its expectations merged
    across chunks, with severity and the publish verdict) and GX's own Data Docs."""
    from segmentation.quality.pages import page_path

    links = {}
    if report.pages_index:
        links["gate_page"] = dg.MetadataValue.path(str(page_path(report.pages_index.parent, suite_name)))
        links["gate_verdict"] = dg.MetadataValue.path(str(report.pages_index))
    if report.docs_index:
        links["data_docs"] = dg.MetadataValue.path(str(report.docs_index))
    return links


def suite_outcome(report, suite: SuiteSpec) -> tuple[bool, dg.AssetCheckSeverity, dict]:
    """A suite's check result from the gate's report: passed, severity and what failed.

    Shared by the checks of a Dagster run and by the CLI's report of its own runs
    (orchestration/cli_runs.py), so both read the same in the UI."""
    checks = [c for c in report.checks if c.suite == suite.name]
    critical = [c for c in checks if not c.success and c.blocking]
    warnings = [c for c in checks if not c.success and not c.blocking]
    metadata = {
        "expectations": len(checks),
        "failed_critical": [c.describe() for c in critical],
        "failed_warning": [c.describe() for c in warnings],
        "skipped": any(reason.startswith(suite.name) for reason in report.skipped),
        **_page_links(report, suite.name),
    }
    severity = dg.AssetCheckSeverity.ERROR if critical else dg.AssetCheckSeverity.WARN
    return not critical and not warnings, severity, metadata


def build_quality_checks(
    asset_keys: set[dg.AssetKey], name: str = "great_expectations_suites"
) -> dg.AssetChecksDefinition:
    specs = _specs(asset_keys)
    by_name = {spec.name: spec for spec in specs}

    # Subsettable: a run that materializes some of the dbt assets runs only their suites.
    @dg.multi_asset_check(specs=specs, name=name, pool=WAREHOUSE_POOL, can_subset=True)
    def great_expectations_suites(context: dg.AssetCheckExecutionContext, segmentation: SegmentationResource):
        from segmentation.engines import warehouse_engine

        selected = {key.name for key in context.selected_asset_check_keys}
        suites = [s for s in SUITES if f"gx_{s.name}" in by_name and f"gx_{s.name}" in selected]
        # The gate of the dbt target's engine, as `segmentation run` calls it (DuckDB: the working
        # file; Spark: GX's Spark execution engine in this process's session).
        report = warehouse_engine(segmentation.settings()).validate(suites, progress=context.log.info)
        if report.pages_index:
            context.log.info(f"gate pages (verdict, one page per suite): {report.pages_index}")
        for suite in suites:
            passed, severity, metadata = suite_outcome(report, suite)
            yield dg.AssetCheckResult(
                check_name=f"gx_{suite.name}",
                asset_key=by_name[f"gx_{suite.name}"].asset_key,
                passed=passed,
                severity=severity,
                metadata=metadata,
            )

    return great_expectations_suites
